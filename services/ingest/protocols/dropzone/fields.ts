/**
 * Dropzone's chunk fields (docs/protocols/dropzone.md), sent before the file part of every
 * chunk with `chunking: true`: `dzuuid` (random per added file), `dzchunkindex` (from 0),
 * `dztotalfilesize`, `dzchunksize` (the nominal chunk size), `dztotalchunkcount` and
 * `dzchunkbyteoffset` (index × chunk size). The file's name is only in the file part's
 * filename; a chunk's part carries no type of the file (application/octet-stream).
 *
 * Everything Dropzone derives is checked against what it derives from: the offset against
 * index × chunk size, the count against the size (rounded up), so a request that
 * contradicts itself is refused before a byte is stored. What it declares is fixed by its
 * first chunk: the core refuses a later chunk that declares another size or chunk size
 * (`upload_conflict`).
 */
import { UploadError } from '../../../core/errors.js';
import { CEIL, pieceCount, pieceLength } from '../../../core/layout.js';
import type { UploadDeclaration } from '../../../core/upload.js';
import type { MultipartFile } from '../../body/multipart-reader.js';
import { checkFilename, checkIdentifier, parseWholeNumber } from '../shared/client-text.js';
import type { FieldSource } from '../shared/field-source.js';

export const DROPZONE = 'dropzone';

/** The fields Dropzone sends with a chunk: any of them makes a request Dropzone's. */
export const DROPZONE_FIELDS = ['dzuuid', 'dzchunkindex', 'dztotalfilesize', 'dzchunksize', 'dztotalchunkcount', 'dzchunkbyteoffset'] as const;

export interface DropzoneChunk {
  uuid: string;
  index: number;
  /** The bytes this chunk must hold, from the size and the chunk size. */
  length: number;
  count: number;
  declaration: UploadDeclaration & { layout: { kind: 'pieces'; pieceSize: number; roundings: number } };
}

export function readDropzoneChunk(fields: FieldSource, file: MultipartFile | undefined): DropzoneChunk {
  const uuid = checkIdentifier('dzuuid', fields.first('dzuuid') ?? '');
  const index = parseWholeNumber('dzchunkindex', fields.first('dzchunkindex'), 0);
  const size = parseWholeNumber('dztotalfilesize', fields.first('dztotalfilesize'), 0);
  const chunkSize = parseWholeNumber('dzchunksize', fields.first('dzchunksize'), 1);
  const count = parseWholeNumber('dztotalchunkcount', fields.first('dztotalchunkcount'), 1);
  const offset = parseWholeNumber('dzchunkbyteoffset', fields.first('dzchunkbyteoffset'), 0);
  if (offset !== index * chunkSize) {
    throw new UploadError('invalid_field', `dzchunkbyteoffset is ${offset}, but chunk ${index} of ${chunkSize} bytes starts at ${index * chunkSize}`);
  }
  const expectedCount = pieceCount(size, chunkSize, CEIL);
  if (count !== expectedCount) {
    throw new UploadError('invalid_field', `dztotalchunkcount is ${count}, but ${size} bytes in chunks of ${chunkSize} make ${expectedCount}`);
  }
  if (!file) throw new UploadError('missing_field', 'The chunk has no file part');
  const length = pieceLength(size, chunkSize, CEIL, index);
  if (length === undefined) throw new UploadError('range_out_of_bounds', `Chunk ${index} is past the last chunk (${count - 1}) of this file`);
  const name = checkFilename('the file part\'s filename', file.filename);
  return {
    uuid,
    index,
    length,
    count,
    declaration: {
      size,
      layout: { kind: 'pieces', pieceSize: chunkSize, roundings: CEIL },
      name,
      relativePath: name,
      // A chunk's part is a slice of the file without its type: the file's type is never sent.
      type: '',
      protocol: DROPZONE,
    },
  };
}
