/**
 * Upload state in Redis. Every multi-key or read-then-write step is a Lua script in
 * ./lua (one file each), so each is atomic and costs one round trip.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { ChunkyardError } from './errors.js';
import { uploadEventsChannel, uploadRedisKeys, type UploadRedisKeys } from './upload-key.js';

const SCRIPTS = {
  recordChunk: 2,
  chunkStatus: 2,
  beginMerge: 2,
  peekChunks: 2,
  parkEarlyMerge: 1,
  finishMerge: 1,
  markFailed: 1,
  cancelUpload: 2,
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptedRedis = Redis & Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

function readLua(file: string): string {
  return readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');
}

/** A script's source, after the shared prelude that publishes upload events. */
function scriptSource(name: ScriptName): string {
  return `${readLua('publish-event')}\n${readLua(name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`))}`;
}

/** Replies that mean Redis is there but cannot serve now: worth a retry, so a 503. */
const TRANSIENT_REPLY = /^(LOADING|READONLY|MISCONF|OOM|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/**
 * Redis that is unreachable, timing out or shutting down is a passing fault: the client
 * should retry, so it becomes a 503. Any other error reply is a bug and stays a 500.
 */
export function asUnavailable(err: unknown): unknown {
  if (err instanceof ChunkyardError) return err;
  const isReply = err instanceof Error && err.name === 'ReplyError';
  if (isReply && !TRANSIENT_REPLY.test(err.message)) return err;
  return new ChunkyardError('service_unavailable', 'Upload state store is unavailable; retry', { cause: err });
}

export type UploadState = 'receiving' | 'queued' | 'merging' | 'complete' | 'failed' | 'cancelled';

export interface NewChunk {
  keyHash: string;
  chunkNumber: number;
  chunkFile: string;
  modeMask: number;
  fingerprint: string;
  candidateUploadId: string;
  floorCount: number;
  ceilCount: number;
  metadata: {
    totalSize: number;
    chunkSize: number;
    filename: string;
    relativePath: string;
    type: string;
    identifier: string;
    /** Whose upload it is: the namespace or the token subject (upload-access.ts). */
    scope: string;
  };
}

export type RecordOutcome = 'stored' | 'duplicate' | 'completed' | 'enqueue' | 'done' | 'conflict' | 'geometry' | 'failed' | 'cancelled';

/**
 * An upload's early merge: `started` when its merge job was added with its first chunk (to
 * append chunks while the rest arrive), `parked` once that job gave its slot back; the
 * upload is then merged by a job of its own when complete.
 */
export type EarlyMerge = 'started' | 'parked' | undefined;

function toEarlyMerge(value: string | undefined): EarlyMerge {
  return value === 'started' || value === 'parked' ? value : undefined;
}

export interface RecordResult {
  outcome: RecordOutcome;
  uploadId: string;
  received: number;
  /** Chunk count once the upload's geometry is settled, else undefined. */
  total: number | undefined;
  earlyMerge: EarlyMerge;
  /** This chunk started the upload's early merge: its job is to be added now. */
  startsEarlyMerge: boolean;
}

export type ChunkStatus = 'present' | 'absent' | 'conflict' | 'failed' | 'cancelled';
export type BeginMergeOutcome = 'merge' | 'complete' | 'failed' | 'stale' | 'missing' | 'early' | 'receiving';

/** What an early merge sees of its upload: the state, and the recorded file of each chunk asked for. */
export interface ChunkPeek {
  state: UploadState | 'missing' | 'stale';
  /** The file of chunk `first + i`, or undefined while that chunk is not recorded. */
  files: (string | undefined)[];
}

/** An upload's Redis hash, parsed. */
export interface UploadRecord {
  uploadId: string;
  state: UploadState;
  modeMask: number;
  received: number;
  totalSize: number;
  chunkSize: number;
  filename: string;
  relativePath: string;
  type: string;
  identifier: string;
  scope: string;
  createdAt: number;
  earlyMerge: EarlyMerge;
  path?: string;
  size?: number;
  sha256?: string;
  error?: string;
}

export interface UploadStoreOptions {
  redis: Redis;
  /** REDIS_PREFIX */
  prefix: string;
  /** Seconds an upload may be idle before it expires (UPLOAD_TTL). */
  idleTtlSeconds: number;
  /** Seconds a finished upload's record is kept (RESULT_TTL). */
  resultTtlSeconds: number;
  /** Uploads at least this large start their merge with their first chunk (0: none do). */
  earlyMergeMinSize?: number;
  now?: () => number;
}

export class UploadStore {
  /** The Redis pub/sub channel every state change of an upload is published on (publish-event.lua). */
  readonly eventsChannel: string;
  private readonly redis: ScriptedRedis;
  private readonly now: () => number;

  constructor(private readonly options: UploadStoreOptions) {
    for (const [name, numberOfKeys] of Object.entries(SCRIPTS) as [ScriptName, number][]) {
      options.redis.defineCommand(name, { numberOfKeys, lua: scriptSource(name) });
    }
    this.redis = options.redis as ScriptedRedis;
    this.now = options.now ?? Date.now;
    this.eventsChannel = uploadEventsChannel(options.prefix);
  }

  keys(keyHash: string): UploadRedisKeys {
    return uploadRedisKeys(this.options.prefix, keyHash);
  }

  async recordChunk(chunk: NewChunk): Promise<RecordResult> {
    const { meta, chunks } = this.keys(chunk.keyHash);
    const m = chunk.metadata;
    const reply = (await this.call('recordChunk', chunk.keyHash, meta, chunks, chunk.chunkNumber, chunk.chunkFile, chunk.modeMask,
      chunk.fingerprint, chunk.candidateUploadId, this.now(), this.options.idleTtlSeconds, chunk.floorCount,
      chunk.ceilCount, m.totalSize, m.chunkSize, m.filename, m.relativePath, m.type, m.identifier, m.scope,
      this.options.resultTtlSeconds, this.options.earlyMergeMinSize ?? 0)) as [RecordOutcome, string, number, number, string, number];
    const [outcome, uploadId, received, total, earlyMerge, startsEarlyMerge] = reply;
    return {
      outcome,
      uploadId,
      received,
      total: total > 0 ? total : undefined,
      earlyMerge: toEarlyMerge(earlyMerge),
      startsEarlyMerge: startsEarlyMerge === 1,
    };
  }

  async chunkStatus(keyHash: string, chunkNumber: number, fingerprint: string): Promise<ChunkStatus> {
    const { meta, chunks } = this.keys(keyHash);
    return (await this.call('chunkStatus', keyHash, meta, chunks, chunkNumber, fingerprint)) as ChunkStatus;
  }

  async beginMerge(keyHash: string, uploadId: string): Promise<BeginMergeOutcome> {
    const { meta, chunks } = this.keys(keyHash);
    return (await this.call('beginMerge', keyHash, meta, chunks, uploadId, this.now(), this.options.idleTtlSeconds)) as BeginMergeOutcome;
  }

  /** The state of an upload in early merge, and the recorded files of chunks first..first+count-1. */
  async peekChunks(keyHash: string, uploadId: string, first: number, count: number): Promise<ChunkPeek> {
    const { meta, chunks } = this.keys(keyHash);
    const [state, ...files] = (await this.call('peekChunks', keyHash, meta, chunks, uploadId, first, count)) as [ChunkPeek['state'], ...(string | null)[]];
    return { state, files: files.map((file) => file ?? undefined) };
  }

  /** Gives up an early merge while the upload still receives; false when it is no longer receiving. */
  async parkEarlyMerge(keyHash: string, uploadId: string): Promise<boolean> {
    return (await this.call('parkEarlyMerge', keyHash, this.keys(keyHash).meta, uploadId)) === 1;
  }

  async finishMerge(keyHash: string, uploadId: string, result: { path: string; size: number; sha256: string }): Promise<boolean> {
    const reply = await this.call('finishMerge', keyHash, this.keys(keyHash).meta, uploadId, result.path, result.size,
      result.sha256, this.now(), this.options.resultTtlSeconds);
    return reply === 1;
  }

  async markFailed(keyHash: string, uploadId: string, reason: string): Promise<boolean> {
    const reply = await this.call('markFailed', keyHash, this.keys(keyHash).meta, uploadId, reason, this.now(),
      this.options.resultTtlSeconds);
    return reply === 1;
  }

  async cancel(keyHash: string): Promise<'cancelled' | 'missing' | 'complete'> {
    const { meta, chunks } = this.keys(keyHash);
    return (await this.call('cancelUpload', keyHash, meta, chunks, this.now(), this.options.resultTtlSeconds)) as 'cancelled' | 'missing' | 'complete';
  }

  async readUpload(keyHash: string): Promise<UploadRecord | undefined> {
    const hash = await this.guard(this.redis.hgetall(this.keys(keyHash).meta));
    return hash.uploadId ? parseUploadRecord(hash) : undefined;
  }

  /** Chunk number -> chunk file name, as recorded. */
  async readChunkMap(keyHash: string): Promise<Map<number, string>> {
    const hash = await this.guard(this.redis.hgetall(this.keys(keyHash).chunks));
    return new Map(Object.entries(hash).map(([number, file]) => [Number(number), file]));
  }

  async dropChunkMap(keyHash: string): Promise<void> {
    await this.guard(this.redis.del(this.keys(keyHash).chunks));
  }

  /** Runs a script; every script takes the events channel and the key hash as its last two ARGV. */
  private call(name: ScriptName, keyHash: string, ...keysAndArgs: (string | number)[]): Promise<unknown> {
    return this.guard(this.redis[name](...keysAndArgs, this.eventsChannel, keyHash));
  }

  private async guard<T>(pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (err) {
      throw asUnavailable(err);
    }
  }
}

function parseUploadRecord(hash: Record<string, string>): UploadRecord {
  const numberOrUndefined = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  return {
    uploadId: hash.uploadId ?? '',
    state: hash.state as UploadState,
    modeMask: Number(hash.modeMask),
    received: Number(hash.received),
    totalSize: Number(hash.totalSize),
    chunkSize: Number(hash.chunkSize),
    filename: hash.filename ?? '',
    relativePath: hash.relativePath ?? '',
    type: hash.type ?? '',
    identifier: hash.identifier ?? '',
    scope: hash.scope ?? '',
    createdAt: Number(hash.createdAt),
    earlyMerge: toEarlyMerge(hash.earlyMerge),
    path: hash.path,
    size: numberOrUndefined(hash.size),
    sha256: hash.sha256,
    error: hash.error,
  };
}
