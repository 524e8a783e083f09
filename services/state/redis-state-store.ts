/**
 * The upload state store on Redis (a single server, Sentinel or a Cluster). Every step
 * that reads and writes, or touches several keys, is one Lua script (lua/), so each is
 * atomic and one round trip; one upload's keys share a cluster slot (redis-keys.ts).
 */
import type { BeginMergeOutcome, LockGrant, NewUpload, QuotaLimits, RangePeek, RangeStatus, RecordRequest, RecordResult, StateStore } from '../core/state-store.js';
import type { PublishedFile, StoredRange, UploadRecord } from '../core/upload.js';
import { guarded } from './redis-errors.js';
import { quotaKeys, uploadEventsChannel, uploadKeys } from './redis-keys.js';
import { defineScripts, type RedisConnection, type ScriptName, type ScriptedConnection } from './script-loader.js';
import { ScriptRunner, type ScriptRunnerOptions } from './script-runner.js';
import { declarationFields, lockGrantOf, rangePeekOf, recordResultOf } from './script-replies.js';
import { parseUploadRecord } from './upload-record.js';

/** Besides these, the replica wait of ScriptRunnerOptions (REDIS_WAIT_REPLICAS). */
export interface RedisStateStoreOptions extends Pick<ScriptRunnerOptions, 'waitReplicas' | 'onDegraded' | 'replicationProbe'> {
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
  now?: () => number;
}

export class RedisStateStore implements StateStore {
  readonly eventsChannel: string;
  private readonly redis: ScriptedConnection;
  private readonly scripts: ScriptRunner;

  constructor(private readonly options: RedisStateStoreOptions) {
    this.redis = defineScripts(options.redis);
    this.eventsChannel = uploadEventsChannel(options.prefix);
    const { waitReplicas, onDegraded, replicationProbe } = options;
    this.scripts = new ScriptRunner(this.redis, { eventsChannel: this.eventsChannel, now: options.now ?? Date.now, waitReplicas, onDegraded, replicationProbe });
  }

  async record(request: RecordRequest): Promise<RecordResult> {
    const keys = this.keys(request.keyHash);
    const { declare } = request;
    const reply = await this.scripts.runReplicated('recordRanges', request.keyHash, [keys.meta, keys.ranges, keys.lock, keys.finals, keys.sweeping], {
      declare: declare ? declarationFields(declare) : undefined,
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
    });
    return recordResultOf(reply as string);
  }

  async create(keyHash: string, upload: NewUpload): Promise<'created' | 'completed' | 'exists'> {
    const keys = this.keys(keyHash);
    return (await this.run('createUpload', keyHash, [keys.meta, keys.ranges], {
      declare: declarationFields(upload),
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
    return lockGrantOf((await this.run('writeLock', keyHash, [keys.lock, keys.meta], { op: 'acquire', leaseMs })) as string);
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
    return rangePeekOf((await this.run('peekRanges', keyHash, [keys.meta, keys.ranges], { uploadId, from, max })) as string);
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

  private run(name: ScriptName, keyHash: string, keys: string[], options: Record<string, unknown>): Promise<unknown> {
    return this.scripts.run(name, keyHash, keys, options);
  }
}
