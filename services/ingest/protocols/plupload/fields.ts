/**
 * Plupload's fields (docs/protocols/plupload.md), before the file part `file` of a multipart
 * body, or in the query string with `multipart: false`: `name` (the file's name), and with
 * `chunk_size` set, `chunk` (from 0) and `chunks` (the count). No size, no piece size and
 * no identifier are sent: the file is known by its name, or by the `uid` field a page adds
 * through `multipart_params` (a unique id per file, such as Plupload's own `file.id`).
 */
import { UploadError } from '../../../core/errors.js';
import { checkFilename, checkIdentifier, parseWholeNumber } from '../shared/client-text.js';
import type { FieldSource } from '../shared/field-source.js';

export const PLUPLOAD = 'plupload';

/** The field a page adds to keep same-named files apart (docs/protocols/plupload.md). */
export const UID_FIELD = 'uid';

export interface PluploadRequest {
  name: string;
  /** The upload's identifier: the `uid` field when sent, else the name. */
  id: string;
  uid: string | undefined;
  /** Absent without chunking (a whole file). */
  chunk: { index: number; count: number } | undefined;
}

export function readPluploadRequest(fields: FieldSource): PluploadRequest {
  if (fields.has('offset') || fields.has('total')) {
    throw new UploadError('invalid_field', 'The offset/total chunk format (send_chunk_number: false) is not served; keep Plupload\'s default chunk and chunks fields');
  }
  const name = checkFilename('name', fields.first('name') ?? '');
  const uidText = fields.first(UID_FIELD);
  const uid = uidText === undefined ? undefined : checkIdentifier(UID_FIELD, uidText);
  let chunk: PluploadRequest['chunk'];
  if (fields.has('chunk') || fields.has('chunks')) {
    const index = parseWholeNumber('chunk', fields.first('chunk'), 0);
    const count = parseWholeNumber('chunks', fields.first('chunks'), 0);
    // An empty file (if the page lets one through) is chunk 0 of 0.
    if (count === 0 ? index !== 0 : index >= count) {
      throw new UploadError('range_out_of_bounds', `chunk ${index} is not one of the ${count} chunks of this file`);
    }
    chunk = { index, count };
  }
  return { name, id: uid ?? name, uid, chunk };
}
