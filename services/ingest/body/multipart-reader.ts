/**
 * Reads a multipart/form-data chunk body with busboy, up to its file part: the protocol
 * fields come first (every supported library sends them before the file), so the request
 * can be parsed, authorised and checked before a single byte of the file is stored. The
 * file part is then handed on as a stream, straight into the storage driver.
 *
 * busboy bounds what a hostile body can cost: each part's header block (16 KiB, so a
 * header that never ends is cut off), the number of parts, fields and files, field sizes,
 * and parses Content-Disposition without backtracking.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import busboy from 'busboy';
import { UploadError } from '../../core/errors.js';
import { capBodyBytes } from './body-limits.js';

export interface MultipartLimits {
  /** The file part's most bytes (MAX_CHUNK_SIZE). */
  fileSize: number;
  /** Room for the protocol fields: each field's value, and their count. */
  fieldSize: number;
  fields: number;
  /** The whole body's most bytes, counted as they arrive (chunked bodies declare no length). */
  bodyBytes: number;
}

export interface MultipartFile {
  /** The part's form name (`file`, `qqfile`, `filepond`...). */
  name: string;
  /** The file name in the part's Content-Disposition, decoded as UTF-8. */
  filename: string;
  mimeType: string;
  stream: Readable;
}

export interface MultipartStart {
  /** Every field before the file part (a field given twice keeps its first value). */
  fields: Record<string, string>;
  /** The first file part; undefined when the body had none. */
  file: MultipartFile | undefined;
  /** Settles once the whole body is read: rejects on a malformed or truncated body, or a second file. */
  finished: Promise<void>;
}

export function readMultipart(req: IncomingMessage, limits: MultipartLimits): Promise<MultipartStart> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      // The part's filename as sent: adapters check it (client-text.ts) and refuse a path, rather than keep its last segment.
      preservePath: true,
      limits: { fileSize: limits.fileSize, fieldSize: limits.fieldSize, fields: limits.fields, files: 1, parts: limits.fields + 1, fieldNameSize: 100, headerPairs: 32 },
    });
  } catch (err) {
    return Promise.reject(new UploadError('malformed_body', 'The multipart body has no usable boundary', { cause: err }));
  }
  const fields: Record<string, string> = {};
  let resolveFinished!: () => void;
  let rejectFinished!: (err: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    resolveFinished = resolve;
    rejectFinished = reject;
  });
  finished.catch(() => undefined);

  return new Promise<MultipartStart>((resolve, reject) => {
    let started = false;
    const fail = (err: unknown) => {
      const refused = err instanceof UploadError ? err : new UploadError('malformed_body', `The multipart body could not be read: ${(err as Error).message}`, { cause: err });
      rejectFinished(refused);
      if (!started) reject(refused);
      req.unpipe(parser);
    };
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(new UploadError('invalid_field', `The field ${name.slice(0, 100)} is longer than ${limits.fieldSize} bytes`));
      if (!started && !(name in fields)) fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (started) {
        stream.resume();
        return fail(new UploadError('malformed_body', 'The multipart body has more than one file part'));
      }
      started = true;
      // The stream handed on ends with an error when the file was cut short or too long,
      // so a truncated file is never stored as if it were whole.
      const file = new PassThrough({ highWaterMark: 64 * 1024 });
      // Its consumer watches for errors while it reads; one that comes after it gave up must not crash the process.
      file.on('error', () => undefined);
      stream.on('limit', () => file.destroy(new UploadError('range_too_large', `The file part is larger than ${limits.fileSize} bytes`)));
      stream.on('error', (err) => file.destroy(new UploadError('malformed_body', `The multipart body ended before its file part did (${err.message})`, { cause: err })));
      stream.pipe(file);
      resolve({ fields, file: { name, filename: info.filename ?? '', mimeType: info.mimeType, stream: file }, finished });
    });
    parser.on('partsLimit', () => fail(new UploadError('malformed_body', 'The multipart body has too many parts')));
    parser.on('fieldsLimit', () => fail(new UploadError('malformed_body', 'The multipart body has too many fields')));
    parser.on('filesLimit', () => fail(new UploadError('malformed_body', 'The multipart body has more than one file part')));
    parser.on('error', fail);
    parser.on('close', () => {
      resolveFinished();
      if (!started) resolve({ fields, file: undefined, finished });
    });
    req.on('error', fail);
    capBodyBytes(req, limits.bodyBytes);
    req.pipe(parser);
  });
}
