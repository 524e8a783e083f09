/**
 * What FilePond 4.32 sends (docs/protocols/filepond.md), read and checked into plain values:
 * the transfer id (in `?patch=` or a revert's body), the chunk headers, the metadata part,
 * and which multipart field is FilePond's (its `name` option, `filepond` unless the page's
 * input has a `name` attribute).
 */
import type { Context } from 'koa';
import { UploadError } from '../../../core/errors.js';
import type { MultipartStart } from '../../body/multipart-reader.js';
import { checkFilename, checkIdentifier, parseWholeNumber } from '../shared/client-text.js';

export const DEFAULT_FIELD = 'filepond';

/** Transfer ids (and the ids of whole files) are the 32 hex digits this server made. */
const SERVER_ID = /^[0-9a-f]{32}$/;

/** The id a PATCH, HEAD or revert names; one this server cannot have made names no upload. */
export function transferId(field: string, value: unknown): string {
  if (Array.isArray(value)) throw new UploadError('invalid_field', `${field} is given more than once`);
  const id = checkIdentifier(field, typeof value === 'string' ? value : '');
  if (!SERVER_ID.test(id)) throw new UploadError('upload_not_found', 'No FilePond transfer with this id');
  return id;
}

/**
 * The multipart field FilePond named: the one its file part shares (whole files: the
 * metadata part, then the file, under one name); for a chunked creation, which has only the
 * metadata part, `filepond` or else the one field there is (an upload token aside).
 */
export function filepondField(multipart: MultipartStart): string | undefined {
  if (multipart.file) {
    const { name } = multipart.file;
    return name === DEFAULT_FIELD || multipart.fields[name] !== undefined ? name : undefined;
  }
  if (multipart.fields[DEFAULT_FIELD] !== undefined) return DEFAULT_FIELD;
  const others = Object.keys(multipart.fields).filter((name) => name !== 'token');
  return others.length === 1 ? others[0] : undefined;
}

/**
 * The metadata part: FilePond always sends the item's metadata as a JSON object (`{}` when
 * there is none). It is checked, not kept: nothing in it is the server's business.
 */
export function checkMetadata(field: string, value: string | undefined): void {
  if (value === undefined) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UploadError('invalid_field', `The ${field} metadata part is not JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UploadError('invalid_field', `The ${field} metadata part must be a JSON object`);
  }
}

/** A numeric header, required. */
export function numericHeader(ctx: Context, name: string): number {
  return parseWholeNumber(name, ctx.get(name), 0);
}

/**
 * `Upload-Name`: FilePond puts the file name in the header as raw UTF-8 bytes, which Node
 * reads as Latin-1 (one character per byte). Bytes that are not UTF-8 are refused rather
 * than turned into replacement characters.
 */
export function uploadName(header: string): string {
  if (header === '') throw new UploadError('missing_field', 'Upload-Name is missing');
  const bytes = Buffer.from(header, 'latin1');
  const name = bytes.toString('utf8');
  if (!Buffer.from(name, 'utf8').equals(bytes)) throw new UploadError('invalid_field', 'Upload-Name is not UTF-8');
  return checkFilename('Upload-Name', name);
}

/** The body's length when the client declared it (browsers always do). */
export function contentLength(ctx: Context): number | undefined {
  const declared = ctx.get('content-length');
  return declared === '' ? undefined : parseWholeNumber('Content-Length', declared, 0);
}

/** A chunk body is raw bytes: FilePond sends `application/offset+octet-stream` (the chunk Blob's type). */
export function checkChunkType(ctx: Context): void {
  const type = ctx.get('content-type');
  if (type !== '' && !ctx.is('application/offset+octet-stream', 'application/octet-stream')) {
    throw new UploadError('unsupported_media_type', `A FilePond chunk is application/offset+octet-stream, not ${type.slice(0, 100)}`);
  }
}
