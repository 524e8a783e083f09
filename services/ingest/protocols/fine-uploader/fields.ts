/**
 * The fields of Fine Uploader 5.16 (core build, traditional endpoint; docs/protocols/fine-uploader.md),
 * read and checked into the core's terms. Chunks are 0-based and cut with ceil rounding; the
 * nominal chunk size (`chunking.partSize`) is not sent, so it is worked out from what is:
 * `qqpartbyteoffset / qqpartindex` for any chunk but the first, the first chunk's own length
 * (`qqchunksize`, the real length of this chunk) when the file has more than one, and the
 * file's size for a file in one chunk. Every chunk must agree with that geometry (its offset,
 * its length, `qqtotalparts`), and with the upload its first request declared (the core
 * refuses another size, name or chunk size as a conflict).
 */
import { CEIL, pieceCount } from '../../../core/layout.js';
import { UploadError } from '../../../core/errors.js';
import type { UploadDeclaration } from '../../../core/upload.js';
import { checkFilename, checkIdentifier, parseWholeNumber } from '../shared/client-text.js';
import type { FieldSource } from '../shared/field-source.js';

export const PROTOCOL = 'fine-uploader';

/** The chunk fields; a request with none of them carries a whole file. */
const PART_FIELDS = ['qqpartindex', 'qqpartbyteoffset', 'qqchunksize', 'qqtotalparts'] as const;

export interface FileFields {
  uuid: string;
  name: string;
}

export interface ChunkFields extends FileFields {
  index: number;
  length: number;
  declaration: UploadDeclaration & { layout: { kind: 'pieces'; pieceSize: number; roundings: number } };
  /** `qqresume=true`: the first chunk sent after a resume from the browser's local storage. */
  resumed: boolean;
}

export function hasPartFields(fields: FieldSource): boolean {
  return PART_FIELDS.some((name) => fields.has(name));
}

export function fileFields(fields: FieldSource): FileFields {
  return {
    uuid: checkIdentifier('qquuid', fields.first('qquuid') ?? ''),
    name: checkFilename('qqfilename', fields.first('qqfilename') ?? ''),
  };
}

/** `qqtotalfilesize`, where it is optional (a whole file sent as raw bytes has none). */
export function optionalSize(fields: FieldSource): number | undefined {
  const text = fields.first('qqtotalfilesize');
  return text === undefined ? undefined : parseWholeNumber('qqtotalfilesize', text, 0);
}

export function chunkFields(fields: FieldSource): ChunkFields {
  const file = fileFields(fields);
  const number = (name: string, min: number) => parseWholeNumber(name, fields.first(name), min);
  const index = number('qqpartindex', 0);
  const offset = number('qqpartbyteoffset', 0);
  const length = number('qqchunksize', 1);
  const parts = number('qqtotalparts', 1);
  const size = number('qqtotalfilesize', 1);
  if (index >= parts) throw new UploadError('range_out_of_bounds', `qqpartindex ${index} is past the last chunk (qqtotalparts ${parts})`);
  let pieceSize: number;
  if (index > 0) {
    if (offset % index !== 0 || offset === 0) {
      throw new UploadError('invalid_field', `qqpartbyteoffset ${offset} is not qqpartindex ${index} times a chunk size`);
    }
    pieceSize = offset / index;
  } else {
    if (offset !== 0) throw new UploadError('invalid_field', 'qqpartbyteoffset of the first chunk (qqpartindex 0) must be 0');
    pieceSize = parts > 1 ? length : size;
  }
  const expected = pieceCount(size, pieceSize, CEIL);
  if (parts !== expected) {
    throw new UploadError('invalid_field', `qqtotalparts ${parts} disagrees with qqtotalfilesize ${size} in chunks of ${pieceSize} bytes (${expected} chunks)`);
  }
  return {
    ...file,
    index,
    length,
    resumed: fields.first('qqresume') === 'true',
    declaration: {
      size,
      layout: { kind: 'pieces', pieceSize, roundings: CEIL },
      name: file.name,
      relativePath: file.name,
      // A chunk's part is `blob`, application/octet-stream: the file's own type is not sent.
      type: '',
      protocol: PROTOCOL,
    },
  };
}

/** The finalising request (`chunking.success.endpoint`): the file, its size and its chunk count. */
export function finaliseFields(fields: FieldSource): FileFields & { size: number; parts: number } {
  return {
    ...fileFields(fields),
    size: parseWholeNumber('qqtotalfilesize', fields.first('qqtotalfilesize'), 0),
    parts: parseWholeNumber('qqtotalparts', fields.first('qqtotalparts'), 1),
  };
}
