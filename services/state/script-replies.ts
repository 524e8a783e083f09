/**
 * Translations between the core's types and what the Lua scripts take and answer: the
 * fields a new upload is declared with, and the JSON replies of the scripts that answer
 * with more than one value. The scripts' side of each shape is in lua/.
 */
import type { LockGrant, NewUpload, RangePeek, RecordResult } from '../core/state-store.js';
import type { UploadState } from '../core/upload.js';

/** cjson encodes an empty Lua table as `{}`: a list either way. */
const list = <T>(value: T[] | Record<string, never> | undefined): T[] => (Array.isArray(value) ? value : []);

/** Scripts answer -1 for a size not declared yet. */
const knownSize = (size: number | undefined) => (size === undefined || size < 0 ? undefined : size);

/** The upload's fields as create-upload.lua and record-ranges.lua store them. */
export function declarationFields(upload: NewUpload) {
  const { declaration: d } = upload;
  return {
    uploadId: upload.uploadId,
    protocol: d.protocol,
    layout: d.layout.kind,
    pieceSize: d.layout.kind === 'pieces' ? d.layout.pieceSize : 0,
    roundings: d.layout.kind === 'pieces' ? d.layout.roundings : 3,
    size: d.size,
    maxSize: upload.maxSize,
    name: d.name,
    relativePath: d.relativePath,
    type: d.type,
    metadata: d.metadata ? JSON.stringify(d.metadata) : undefined,
    partial: d.partial === true,
    concatOf: upload.concatOf ? JSON.stringify(upload.concatOf) : undefined,
    succeeds: d.succeeds,
    identifier: upload.identifier,
    scope: upload.scope,
    storageKey: upload.storageKey,
    quotaSubject: upload.quotaSubject,
  };
}

/** record-ranges.lua's reply. */
interface RecordReply {
  outcome: RecordResult['outcome'];
  uploadId: string;
  state: RecordResult['state'];
  stored: number;
  ranges: number;
  prefix: number;
  size: number;
  total: number;
  earlyMerge: string;
  startsEarlyMerge: number;
  created: number;
  partial: number;
  accepted: number[] | Record<string, never>;
  finals: string[] | Record<string, never>;
  expiresAt: number;
}

export function recordResultOf(json: string): RecordResult {
  const reply = JSON.parse(json) as RecordReply;
  return {
    outcome: reply.outcome,
    uploadId: reply.uploadId,
    state: reply.state,
    storedBytes: reply.stored,
    storedRanges: reply.ranges,
    prefix: reply.prefix,
    size: knownSize(reply.size),
    totalPieces: reply.total > 0 ? reply.total : undefined,
    earlyMerge: reply.earlyMerge === 'started' || reply.earlyMerge === 'parked' ? reply.earlyMerge : undefined,
    startsEarlyMerge: reply.startsEarlyMerge === 1,
    created: reply.created === 1,
    partial: reply.partial === 1,
    accepted: list(reply.accepted).map((flag) => flag === 1),
    finals: list(reply.finals),
    expiresAt: reply.expiresAt > 0 ? reply.expiresAt : undefined,
  };
}

/** write-lock.lua's reply to `acquire`. */
export function lockGrantOf(json: string): LockGrant {
  const reply = JSON.parse(json) as {
    outcome: LockGrant['outcome'];
    fence?: number;
    state?: UploadState;
    uploadId?: string;
    prefix?: number;
    size?: number;
    maxSize?: number;
    final?: boolean;
  };
  return {
    outcome: reply.outcome,
    final: reply.final === true,
    fence: reply.fence ?? 0,
    state: reply.state,
    uploadId: reply.uploadId,
    prefix: reply.prefix ?? 0,
    size: knownSize(reply.size),
    maxSize: reply.maxSize ?? 0,
  };
}

/** peek-ranges.lua's reply. */
export function rangePeekOf(json: string): RangePeek {
  const reply = JSON.parse(json) as {
    state: RangePeek['state'];
    prefix?: number;
    size?: number;
    ranges?: [number, number, string][] | Record<string, never>;
  };
  return {
    state: reply.state,
    prefix: reply.prefix ?? 0,
    size: knownSize(reply.size),
    ranges: list(reply.ranges).map(([offset, length, location]) => ({ offset, length, location })),
  };
}
