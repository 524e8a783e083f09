/**
 * The tus 1.0 request headers (https://tus.io/protocols/resumable-upload), read and checked
 * into plain values; docs/protocols/tus.md says what tus-js-client and Uppy send.
 */
import { UploadError } from '../../../core/errors.js';
import { checkFilename, checkMimeType, parseWholeNumber } from '../shared/client-text.js';

export const TUS_VERSION = '1.0.0';
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'md5'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Upload-Metadata: `key base64,key base64`; a key alone has an empty value. At most 4 KiB. */
export function parseMetadata(header: string): Record<string, string> {
  if (header.length > 4096) throw new UploadError('invalid_field', 'Upload-Metadata is longer than 4096 characters');
  const metadata: Record<string, string> = {};
  if (header.trim() === '') return metadata;
  for (const pair of header.split(',')) {
    const [key = '', value = '', ...rest] = pair.trim().split(' ');
    if (!/^[\x21-\x2b\x2d-\x7e]{1,64}$/.test(key) || rest.length > 0 || key in metadata) {
      throw new UploadError('invalid_field', 'Upload-Metadata must be comma-separated pairs of a key and a base64 value');
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 === 1) throw new UploadError('invalid_field', `Upload-Metadata ${key} is not base64`);
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    if (decoded.includes('\uFFFD')) throw new UploadError('invalid_field', `Upload-Metadata ${key} is not UTF-8`);
    metadata[key] = decoded;
  }
  return metadata;
}

/** The file's name and type from its metadata (tus-js-client apps: filename, filetype; Uppy: name, type too). */
export function nameAndType(metadata: Record<string, string>): { name: string; type: string } {
  const rawName = metadata.filename ?? metadata.name ?? '';
  const name = rawName === '' ? 'upload' : checkFilename('Upload-Metadata filename', rawName);
  const type = checkMimeType('Upload-Metadata filetype', metadata.filetype ?? metadata.type ?? '');
  return { name, type };
}

/** Upload-Length, or Upload-Defer-Length: 1 (undefined: declared later). */
export function declaredLength(get: (name: string) => string): number | undefined {
  const length = get('upload-length');
  const deferred = get('upload-defer-length');
  if (length !== '' && deferred !== '') throw new UploadError('invalid_field', 'Upload-Length and Upload-Defer-Length exclude each other');
  if (length !== '') return parseWholeNumber('Upload-Length', length, 0);
  if (deferred === '1') return undefined;
  throw new UploadError('missing_field', 'Upload-Length (or Upload-Defer-Length: 1) is required');
}

export function offsetOf(header: string): number {
  return parseWholeNumber('Upload-Offset', header, 0);
}

/** Upload-Checksum: `<algorithm> <base64 digest>`. */
export function checksumOf(header: string): { algorithm: ChecksumAlgorithm; digest: Buffer } | undefined {
  if (header === '') return undefined;
  const [algorithm = '', digest = ''] = header.trim().split(' ');
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new UploadError('invalid_field', `Upload-Checksum algorithm must be one of ${CHECKSUM_ALGORITHMS.join(', ')}`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(digest)) throw new UploadError('invalid_field', 'Upload-Checksum digest must be base64');
  return { algorithm: algorithm as ChecksumAlgorithm, digest: Buffer.from(digest, 'base64') };
}

export type Concat = { kind: 'partial' } | { kind: 'final'; ids: string[] } | undefined;

/** Upload-Concat: `partial`, or `final;<url> <url> ...` naming partial uploads of this endpoint. */
export function concatOf(header: string, idFromUrl: (url: string) => string | undefined): Concat {
  if (header === '') return undefined;
  if (header === 'partial') return { kind: 'partial' };
  if (!header.startsWith('final;')) throw new UploadError('invalid_field', 'Upload-Concat must be partial, or final; followed by upload URLs');
  const urls = header.slice('final;'.length).trim().split(/\s+/).filter(Boolean);
  if (urls.length === 0 || urls.length > 1000) throw new UploadError('invalid_field', 'Upload-Concat final names 1 to 1000 partial uploads');
  const ids = urls.map((url) => {
    const id = idFromUrl(url);
    if (!id) throw new UploadError('invalid_field', `Upload-Concat names ${url.slice(0, 200)}, not an upload of this server`);
    return id;
  });
  return { kind: 'final', ids };
}

/** tus upload ids are the 32 hex digits the server made. */
export const UPLOAD_ID = /^[0-9a-f]{32}$/;
