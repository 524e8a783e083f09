/**
 * The upload state store on Redis (a single server, Sentinel or a Cluster). Every step
 * that reads and writes, or touches several keys, is one Lua script (lua/), so each is
 * atomic and one round trip; one upload's keys share a cluster slot (redis-keys.ts).
 */
import type { LockGrant, NewUpload, QuotaLimits, RangePeek, RangeStatus, RecordRequest, RecordResult, StateStore, BeginMergeOutcome } from '../core/state-store.js';
import type { PublishedFile, StoredRange, UploadRecord, UploadState } from '../core/upload.js';
import type { Redis } from 'ioredis';
import { UploadError } from '../core/errors.js';
import { asUnavailable, guarded } from './redis-errors.js';
import { quotaKeys, uploadEventsChannel, uploadKeys } from './redis-keys.js';
import { defineScripts, type RedisConnection, type ScriptName, type ScriptedConnection } from './script-loader.js';
import { parseUploadRecord } from './upload-record.js';

export interface RedisStateStoreOptions {
  redis: RedisConnection;
  /** REDIS_PREFIX */
  prefix: string;
  /** Seconds an upload may be idle before it expires (UPLOAD_TTL). */
  idleTtlSeconds: number;
  /** Seconds a finished upload's record is kept (RESULT_TTL). */
  resultTtlSeconds: number;
  /** How long a cancelled upload keeps refusing data before its id is free again. */
  cancelGraceMs: number;
  /** Uploads at least this large start their merge while receiving (0: none do). */
  earlyMergeMinSize: number;
  /**
   * Replicas that must have a recorded range before it is acknowledged (REDIS_WAIT_REPLICAS):
   * with Sentinel, a failover then cannot lose a range a client was told is stored.
   */
  waitReplicas?: number;
  /** Told when fewer replicas are connected than waitReplicas asks for. */
  onDegraded?: (reason: string) => void;
  /**
   * A connection of its own to read how many replicas are connected: on the writing
   * connection the question would queue behind the WAITs it is meant to avoid.
   */
  replicationProbe?: RedisConnection;
  now?: () => number;
}

/**
 * How long a write waits for its replicas before the client is told to retry. Short: WAIT
 * holds the whole connection, every other request's commands queue behind it.
 */
const REPLICA_WAIT_MS = 250;

/** cjson encodes an empty Lua table as `{}`: a list either way. */
const list = <T>(value: T[] | Record<string, never> | undefined): T[] => (Array.isArray(value) ? value : []);

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
}

export class RedisStateStore implements StateStore {
  readonly eventsChannel: string;
  private readonly redis: ScriptedConnection;
  private readonly now: () => number;
  private replicas = 0;
  private replicasCheckedAt = 0;

  constructor(private readonly options: RedisStateStoreOptions) {
    this.redis = defineScripts(options.redis);
    this.now = options.now ?? Date.now;
    this.eventsChannel = uploadEventsChannel(options.prefix);
  }

  async record(request: RecordRequest): Promise<RecordResult> {
    const keys = this.keys(request.keyHash);
    const { declare } = request;
    const reply = JSON.parse(
      (await this.runReplicated('recordRanges', request.keyHash, [keys.meta, keys.ranges, keys.lock, keys.finals, keys.sweeping], {
        declare: declare ? this.declaration(declare) : undefined,
        fingerprint: declare?.fingerprint,
        expectedUploadId: request.expectedUploadId,
        ranges: request.ranges,
        appendAt: request.appendAt,
        size: request.size,
        name: request.name,
        fence: request.fence,
        release: request.release,
        idleTtl: this.options.idleTtlSeconds,
        resultTtl: this.options.resultTtlSeconds,
        cancelGraceMs: this.options.cancelGraceMs,
        earlyMergeMinSize: this.options.earlyMergeMinSize,
      })) as string,
    ) as RecordReply;
    return {
      outcome: reply.outcome,
      uploadId: reply.uploadId,
      state: reply.state,
      storedBytes: reply.stored,
      storedRanges: reply.ranges,
      prefix: reply.prefix,
      size: reply.size >= 0 ? reply.size : undefined,
      totalPieces: reply.total > 0 ? reply.total : undefined,
      earlyMerge: reply.earlyMerge === 'started' || reply.earlyMerge === 'parked' ? reply.earlyMerge : undefined,
      startsEarlyMerge: reply.startsEarlyMerge === 1,
      created: reply.created === 1,
      partial: reply.partial === 1,
      accepted: list(reply.accepted).map((flag) => flag === 1),
      finals: list(reply.finals),
    };
  }

  async create(keyHash: string, upload: NewUpload): Promise<'created' | 'completed' | 'exists'> {
    const keys = this.keys(keyHash);
    return (await this.run('createUpload', keyHash, [keys.meta, keys.ranges], {
      declare: this.declaration(upload),
      fingerprint: upload.fingerprint,
      idleTtl: this.options.idleTtlSeconds,
      resultTtl: this.options.resultTtlSeconds,
    })) as 'created' | 'completed' | 'exists';
  }

  async rangeStatus(keyHash: string, fingerprint: string, offset: number): Promise<RangeStatus> {
    const keys = this.keys(keyHash);
    return (await this.run('rangeStatus', keyHash, [keys.meta, keys.ranges], { fingerprint, offset, cancelGraceMs: this.options.cancelGraceMs })) as RangeStatus;
  }

  async storedOffsets(keyHash: string): Promise<number[]> {
    const offsets = await guarded(this.redis.hkeys(this.keys(keyHash).ranges));
    return offsets.map(Number).sort((a, b) => a - b);
  }

  async read(keyHash: string): Promise<UploadRecord | undefined> {
    const hash = await guarded(this.redis.hgetall(this.keys(keyHash).meta));
    return hash.uploadId ? parseUploadRecord(hash) : undefined;
  }

  async ranges(keyHash: string): Promise<StoredRange[]> {
    const hash = await guarded(this.redis.hgetall(this.keys(keyHash).ranges));
    return Object.entries(hash)
      .map(([offset, value]) => {
        const bar = value.indexOf('|');
        return bar < 0
          ? { offset: Number(offset), length: Number(value), location: '' }
          : { offset: Number(offset), length: Number(value.slice(0, bar)), location: value.slice(bar + 1) };
      })
      .sort((a, b) => a.offset - b.offset);
  }

  async cancel(keyHash: string) {
    const keys = this.keys(keyHash);
    return JSON.parse((await this.run('cancelUpload', keyHash, [keys.meta, keys.ranges], { resultTtl: this.options.resultTtlSeconds })) as string) as Awaited<ReturnType<StateStore['cancel']>>;
  }

  async acquireLock(keyHash: string, leaseMs: number): Promise<LockGrant> {
    const keys = this.keys(keyHash);
    const reply = JSON.parse((await this.run('writeLock', keyHash, [keys.lock, keys.meta], { op: 'acquire', leaseMs })) as string) as {
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
      size: reply.size === undefined || reply.size < 0 ? undefined : reply.size,
      maxSize: reply.maxSize ?? 0,
    };
  }

  async renewLock(keyHash: string, fence: number, leaseMs: number): Promise<boolean> {
    const keys = this.keys(keyHash);
    return (await this.run('writeLock', keyHash, [keys.lock, keys.meta], { op: 'renew', fence, leaseMs })) === 1;
  }

  async releaseLock(keyHash: string, fence: number): Promise<boolean> {
    const keys = this.keys(keyHash);
    return (await this.run('writeLock', keyHash, [keys.lock, keys.meta], { op: 'release', fence })) === 1;
  }

  async beginMerge(keyHash: string, uploadId: string): Promise<BeginMergeOutcome> {
    const keys = this.keys(keyHash);
    return (await this.run('beginMerge', keyHash, [keys.meta, keys.ranges], { uploadId, resultTtl: this.options.resultTtlSeconds })) as BeginMergeOutcome;
  }

  async peekRanges(keyHash: string, uploadId: string, from: number, max: number): Promise<RangePeek> {
    const keys = this.keys(keyHash);
    const reply = JSON.parse((await this.run('peekRanges', keyHash, [keys.meta, keys.ranges], { uploadId, from, max })) as string) as {
      state: RangePeek['state'];
      prefix?: number;
      size?: number;
      ranges?: [number, number, string][] | Record<string, never>;
    };
    return {
      state: reply.state,
      prefix: reply.prefix ?? 0,
      size: reply.size === undefined || reply.size < 0 ? undefined : reply.size,
      ranges: list(reply.ranges).map(([offset, length, location]) => ({ offset, length, location })),
    };
  }

  async parkEarlyMerge(keyHash: string, uploadId: string): Promise<boolean> {
    return (await this.run('parkEarlyMerge', keyHash, [this.keys(keyHash).meta], { uploadId })) === 1;
  }

  async finishMerge(keyHash: string, uploadId: string, result: PublishedFile): Promise<boolean> {
    const reply = await this.run('finishMerge', keyHash, [this.keys(keyHash).meta], {
      uploadId, location: result.location, bucket: result.bucket, size: result.size, sha256: result.sha256, resultTtl: this.options.resultTtlSeconds,
    });
    return reply === 1;
  }

  async markFailed(keyHash: string, uploadId: string, reason: string): Promise<boolean> {
    return (await this.run('markFailed', keyHash, [this.keys(keyHash).meta], { uploadId, reason, resultTtl: this.options.resultTtlSeconds })) === 1;
  }

  async dropRanges(keyHash: string): Promise<void> {
    await guarded(this.redis.del(this.keys(keyHash).ranges));
  }

  async noteAssembly(keyHash: string, uploadId: string, assembly: string): Promise<void> {
    const { meta } = this.keys(keyHash);
    // Only while the record is this upload's: a stale job must not write into a newer one.
    if ((await guarded(this.redis.hget(meta, 'uploadId'))) === uploadId) await guarded(this.redis.hset(meta, 'assembly', assembly));
  }

  async attachFinal(partialKeyHash: string, finalKeyHash: string) {
    const keys = this.keys(partialKeyHash);
    return JSON.parse(
      (await this.run('attachFinal', partialKeyHash, [keys.meta, keys.finals, keys.ranges], { finalKeyHash, resultTtl: this.options.resultTtlSeconds })) as string,
    ) as Awaited<ReturnType<StateStore['attachFinal']>>;
  }

  async partialDone(finalKeyHash: string, partialId: string, size: number) {
    const keys = this.keys(finalKeyHash);
    return (await this.run('partialDone', finalKeyHash, [keys.meta, keys.parts], { partialId, size, resultTtl: this.options.resultTtlSeconds })) as
      Awaited<ReturnType<StateStore['partialDone']>>;
  }

  async claimForSweep(keyHash: string, storageKey: string, holdMs: number): Promise<boolean> {
    const keys = this.keys(keyHash);
    return (await this.run('claimForSweep', keyHash, [keys.meta, keys.sweeping], { storageKey, holdMs })) === 1;
  }

  async reserveQuota(subject: string, member: string, size: number, lapsesAt: number, limits: QuotaLimits): Promise<'ok' | 'uploads' | 'bytes'> {
    const keys = quotaKeys(this.options.prefix, subject);
    return (await this.run('quota', '', [keys.entries, keys.bytes], { op: 'reserve', member, size, lapsesAt, ...limits })) as 'ok' | 'uploads' | 'bytes';
  }

  async releaseQuota(subject: string, member: string): Promise<void> {
    const keys = quotaKeys(this.options.prefix, subject);
    await this.run('quota', '', [keys.entries, keys.bytes], { op: 'release', member });
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  private keys(keyHash: string) {
    return uploadKeys(this.options.prefix, keyHash);
  }

  private declaration(upload: NewUpload) {
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

  /** Runs a script with its keys and the packed options (plus the clock and the events channel). */
  private run(name: ScriptName, keyHash: string, keys: string[], options: Record<string, unknown>): Promise<unknown> {
    return guarded(this.redis[name](...keys, this.pack(keyHash, options)));
  }

  /**
   * Runs a script that records what a client is about to be told is stored, and, with
   * waitReplicas, waits in the same round trip until that many replicas have it. Not
   * replicated in time: the client is told to retry (its retry finds the range recorded, or
   * records it again on a promoted replica).
   */
  private async runReplicated(name: ScriptName, keyHash: string, keys: string[], options: Record<string, unknown>): Promise<unknown> {
    const replicas = Math.min(this.options.waitReplicas ?? 0, await this.replicasConnected());
    if (replicas === 0) return this.run(name, keyHash, keys, options);
    const pipeline = (this.redis as Redis).pipeline() as unknown as Record<ScriptName, (...args: string[]) => unknown> & { call(...args: string[]): unknown; exec(): Promise<[Error | null, unknown][] | null> };
    pipeline[name](...keys, this.pack(keyHash, options));
    pipeline.call('WAIT', String(replicas), String(REPLICA_WAIT_MS));
    const results = (await guarded(pipeline.exec())) ?? [];
    const [[scriptError, reply] = [null, undefined], [waitError, acknowledged] = [null, 0]] = results;
    if (scriptError) throw asUnavailable(scriptError);
    if (waitError || Number(acknowledged) < replicas) throw new UploadError('service_unavailable', 'Not yet replicated; retry');
    return reply;
  }

  /**
   * Replicas connected to the master now, read at most once a second. A master just
   * promoted by a failover has none until one joins: waiting for a replica that does not
   * exist would refuse every upload, so the store then acknowledges what the master alone
   * has (and says so in the log), rather than none at all.
   */
  private async replicasConnected(): Promise<number> {
    if (Date.now() - this.replicasCheckedAt > 1_000) {
      this.replicasCheckedAt = Date.now();
      const info = await guarded((this.options.replicationProbe ?? this.redis).info('replication'));
      const connected = Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0);
      if (connected < (this.options.waitReplicas ?? 0) && connected !== this.replicas) {
        this.options.onDegraded?.(`${connected} replicas connected, ${this.options.waitReplicas} wanted: stored ranges are acknowledged without them`);
      }
      this.replicas = connected;
    }
    return this.replicas;
  }

  private pack(keyHash: string, options: Record<string, unknown>): string {
    return JSON.stringify({ ...options, now: this.now(), channel: this.eventsChannel, keyHash });
  }
}
