/**
 * The fields of resumable.js (`resumableChunkNumber`...) and flow.js (`flowChunkNumber`...),
 * and of simple-uploader.js, which sends the same names without a prefix
 * (docs/protocols/resumable-flow.md, simple-uploader.md). Parsed into the core's terms:
 * chunk n (from 1) is the piece at (n - 1) × ChunkSize, in either rounding of the count.
 * TotalChunks is not trusted (resumable.js 1.1.0 can send a wrong one): the geometry is
 * worked out from TotalSize and ChunkSize, and every chunk must agree with the first.
 */
import { EITHER } from '../../../core/layout.js';
import type { UploadDeclaration } from '../../../core/upload.js';
import { UploadError } from '../../../core/errors.js';
import { checkFilename, checkIdentifier, checkMimeType, checkRelativePath, parseWholeNumber } from '../shared/client-text.js';
import type { FieldSource } from '../shared/field-source.js';

export interface ChunkRequest {
  /** The prefix the client used: `resumable`, `flow`, or '' (simple-uploader.js). */
  prefix: string;
  chunkNumber: number;
  currentChunkSize: number;
  identifier: string;
  declaration: UploadDeclaration & { layout: { kind: 'pieces'; pieceSize: number; roundings: number } };
}

/** The prefix of the fields a request carries, or undefined when it carries none of them. */
export function chunkFieldPrefix(fields: FieldSource, prefixes: readonly string[]): string | undefined {
  return prefixes.find((prefix) => fields.has(`${prefix}${prefix ? 'ChunkNumber' : 'chunkNumber'}`));
}

/** `ChunkNumber` with a prefix, `chunkNumber` without one. */
function fieldName(prefix: string, name: string): string {
  return prefix ? `${prefix}${name}` : `${name[0]!.toLowerCase()}${name.slice(1)}`;
}

export function readChunkRequest(fields: FieldSource, prefix: string, protocol: string): ChunkRequest {
  const named = (name: string) => fieldName(prefix, name);
  const value = (name: string) => fields.first(named(name));
  const chunkNumber = parseWholeNumber(named('ChunkNumber'), value('ChunkNumber'), 1);
  const chunkSize = parseWholeNumber(named('ChunkSize'), value('ChunkSize'), 1);
  const currentChunkSize = parseWholeNumber(named('CurrentChunkSize'), value('CurrentChunkSize'), 0);
  const totalSize = parseWholeNumber(named('TotalSize'), value('TotalSize'), 0);
  const identifier = checkIdentifier(named('Identifier'), value('Identifier') ?? '');
  const filename = checkFilename(named('Filename'), value('Filename') ?? '');
  const relativePath = value('RelativePath') ? checkRelativePath(named('RelativePath'), value('RelativePath')!) : filename;
  const totalChunks = value('TotalChunks');
  if (totalChunks !== undefined && totalChunks !== '' && !/^\d{1,16}$/.test(totalChunks)) {
    throw new UploadError('invalid_field', `${named('TotalChunks')} must be a whole number`);
  }
  return {
    prefix,
    chunkNumber,
    currentChunkSize,
    identifier,
    declaration: {
      size: totalSize,
      layout: { kind: 'pieces', pieceSize: chunkSize, roundings: EITHER },
      name: filename,
      relativePath,
      type: checkMimeType(named('Type'), value('Type') ?? ''),
      protocol,
    },
  };
}
