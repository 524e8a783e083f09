/**
 * Reads and validates the protocol fields of a chunk request into a typed value;
 * nothing else touches raw fields. (../shared/PROTOCOL.md, "Requests".)
 *
 * resumable.js sends `resumableChunkNumber` and friends, flow.js `flowChunkNumber`;
 * resumable.js repeats its multipart fields in the query string, so a field is read
 * from the body first and the query second, and a field given twice takes its first value.
 */
import { ChunkyardError } from '../shared/errors.js';

export type RawFields = Record<string, unknown>;

const PREFIXES = ['resumable', 'flow'] as const;

export interface ChunkFields {
  chunkNumber: number;
  chunkSize: number;
  currentChunkSize: number;
  totalSize: number;
  identifier: string;
  filename: string;
  relativePath: string;
  /** The browser's MIME type of the file; may be empty, and flow.js does not send it. */
  type: string;
}

/** The first value of `name` under either prefix, from the first source that has it. */
function firstValue(sources: RawFields[], name: string): string | undefined {
  for (const source of sources) {
    for (const prefix of PREFIXES) {
      let value = source[`${prefix}${name}`];
      if (Array.isArray(value)) value = value[0];
      if (typeof value === 'string') return value;
    }
  }
  return undefined;
}

function fieldError(code: 'missing_field' | 'invalid_field', name: string, problem: string): ChunkyardError {
  return new ChunkyardError(code, `${name} (resumable${name} or flow${name}) ${problem}`);
}

function wholeNumber(sources: RawFields[], name: string, min: number): number {
  const text = firstValue(sources, name);
  if (text === undefined || text === '') throw fieldError('missing_field', name, 'is missing');
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw fieldError('invalid_field', name, `must be a whole number of at least ${min}`);
  }
  return value;
}

// C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
// Invisible format characters: bidi overrides that disguise `evil.exe` as `exe.live`,
// zero-width characters that make two names look alike.
const FORMAT = /\p{Cf}/u;
// A separator, also once look-alikes (fullwidth solidus, …) are folded by NFKC.
const SEPARATOR = /[/\\]/;
// The default identifiers of both libraries are `[0-9A-Za-z_-]`; custom ones commonly add
// `.~:@+=,`. Nothing outside printable ASCII, and never a path separator.
const IDENTIFIER = /^[\x21-\x7e]{1,255}$/;

function text(sources: RawFields[], name: string, options: { required: boolean; maxBytes: number }): string {
  const value = firstValue(sources, name) ?? '';
  if (options.required && value === '') throw fieldError('missing_field', name, 'is missing');
  if (Buffer.byteLength(value) > options.maxBytes) {
    throw fieldError('invalid_field', name, `is longer than ${options.maxBytes} bytes`);
  }
  if (CONTROL.test(value)) throw fieldError('invalid_field', name, 'contains control characters');
  return value;
}

function identifier(sources: RawFields[]): string {
  const value = text(sources, 'Identifier', { required: true, maxBytes: 255 });
  if (!IDENTIFIER.test(value) || /[/\\]/.test(value)) {
    throw fieldError('invalid_field', 'Identifier', 'must be 1-255 printable ASCII characters without spaces, / or \\');
  }
  return value;
}

// Names are checked as given and as NFKC folds them, since other systems may fold them later.
function filename(sources: RawFields[]): string {
  const value = text(sources, 'Filename', { required: true, maxBytes: 255 });
  if (FORMAT.test(value)) throw fieldError('invalid_field', 'Filename', 'contains invisible formatting characters');
  const folded = value.normalize('NFKC');
  if (SEPARATOR.test(folded) || folded === '.' || folded === '..') {
    throw fieldError('invalid_field', 'Filename', 'must be a plain file name, without / or \\ (or characters that look like them)');
  }
  return value;
}

function relativePath(sources: RawFields[], fallback: string): string {
  const value = text(sources, 'RelativePath', { required: false, maxBytes: 4096 });
  if (value === '') return fallback;
  if (FORMAT.test(value)) throw fieldError('invalid_field', 'RelativePath', 'contains invisible formatting characters');
  const folded = value.normalize('NFKC');
  const segments = folded.split('/');
  if (folded.includes('\\') || /^[A-Za-z]:/.test(folded) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw fieldError('invalid_field', 'RelativePath', 'must be a relative path without empty, . or .. segments');
  }
  return value;
}

/** Reads the fields of a chunk request from its sources, in order of precedence. */
export function readChunkFields(sources: RawFields[]): ChunkFields {
  const chunkNumber = wholeNumber(sources, 'ChunkNumber', 1);
  const chunkSize = wholeNumber(sources, 'ChunkSize', 1);
  const currentChunkSize = wholeNumber(sources, 'CurrentChunkSize', 0);
  const totalSize = wholeNumber(sources, 'TotalSize', 0);
  const id = identifier(sources);
  const name = filename(sources);
  const fields: ChunkFields = {
    chunkNumber,
    chunkSize,
    currentChunkSize,
    totalSize,
    identifier: id,
    filename: name,
    relativePath: relativePath(sources, name),
    type: text(sources, 'Type', { required: false, maxBytes: 255 }),
  };
  // TotalChunks is not trusted (resumable.js 1.1.0 can send a wrong one), but garbage is refused.
  const totalChunks = firstValue(sources, 'TotalChunks');
  if (totalChunks !== undefined && totalChunks !== '' && !/^\d{1,16}$/.test(totalChunks)) {
    throw fieldError('invalid_field', 'TotalChunks', 'must be a whole number');
  }
  return fields;
}
