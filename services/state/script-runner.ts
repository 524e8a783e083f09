/**
 * Runs the state store's Lua scripts: each gets its keys and one packed JSON argument (the
 * caller's options, plus the clock, the events channel and the upload's key hash). Writes a
 * client is about to be told are stored can also wait for Redis replicas in the same round
 * trip (REDIS_WAIT_REPLICAS), so a Sentinel failover cannot lose an acknowledged range.
 */
import type { Redis } from 'ioredis';
import { UploadError } from '../core/errors.js';
import { asUnavailable, guarded } from './redis-errors.js';
import type { RedisConnection, ScriptName, ScriptedConnection } from './script-loader.js';

export interface ScriptRunnerOptions {
  /** Published with every event a script sends (uploadEventsChannel). */
  eventsChannel: string;
  /**
   * Replicas that must have a recorded range before it is acknowledged (REDIS_WAIT_REPLICAS;
   * 0 or unset: none): with Sentinel, a failover then cannot lose a range a client was told is stored.
   */
  waitReplicas?: number;
  /** Told when fewer replicas are connected than waitReplicas asks for. */
  onDegraded?: (reason: string) => void;
  /**
   * A connection of its own to read how many replicas are connected: on the writing
   * connection the question would queue behind the WAITs it is meant to avoid.
   */
  replicationProbe?: RedisConnection;
  now: () => number;
}

/**
 * How long a write waits for its replicas before the client is told to retry. Short: WAIT
 * holds the whole connection, every other request's commands queue behind it.
 */
const REPLICA_WAIT_MS = 250;

/** The replica count is read at most this often. */
const REPLICA_CHECK_INTERVAL_MS = 1_000;

type ScriptPipeline = Record<ScriptName, (...args: string[]) => unknown> & {
  call(...args: string[]): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
};

export class ScriptRunner {
  private replicas = 0;
  private replicasCheckedAt = 0;

  constructor(
    private readonly redis: ScriptedConnection,
    private readonly options: ScriptRunnerOptions,
  ) {}

  /** Runs a script with its keys and the packed options. */
  run(name: ScriptName, keyHash: string, keys: string[], options: Record<string, unknown>): Promise<unknown> {
    return guarded(this.redis[name](...keys, this.pack(keyHash, options)));
  }

  /**
   * Runs a script that records what a client is about to be told is stored, and, with
   * waitReplicas, waits in the same round trip until that many replicas have it. Not
   * replicated in time: the client is told to retry (its retry finds the range recorded, or
   * records it again on a promoted replica).
   */
  async runReplicated(name: ScriptName, keyHash: string, keys: string[], options: Record<string, unknown>): Promise<unknown> {
    const replicas = Math.min(this.options.waitReplicas ?? 0, await this.replicasConnected());
    if (replicas === 0) return this.run(name, keyHash, keys, options);
    const pipeline = (this.redis as Redis).pipeline() as unknown as ScriptPipeline;
    pipeline[name](...keys, this.pack(keyHash, options));
    pipeline.call('WAIT', String(replicas), String(REPLICA_WAIT_MS));
    const results = (await guarded(pipeline.exec())) ?? [];
    const [[scriptError, reply] = [null, undefined], [waitError, acknowledged] = [null, 0]] = results;
    if (scriptError) throw asUnavailable(scriptError);
    if (waitError || Number(acknowledged) < replicas) throw new UploadError('service_unavailable', 'Not yet replicated; retry');
    return reply;
  }

  /**
   * Replicas connected to the master now. A master just promoted by a failover has none
   * until one joins: waiting for a replica that does not exist would refuse every upload,
   * so the store then acknowledges what the master alone has (and says so in the log),
   * rather than none at all.
   */
  private async replicasConnected(): Promise<number> {
    if (!this.options.waitReplicas) return 0;
    if (Date.now() - this.replicasCheckedAt > REPLICA_CHECK_INTERVAL_MS) {
      this.replicasCheckedAt = Date.now();
      const info = await guarded((this.options.replicationProbe ?? this.redis).info('replication'));
      const connected = Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0);
      if (connected < this.options.waitReplicas && connected !== this.replicas) {
        this.options.onDegraded?.(`${connected} replicas connected, ${this.options.waitReplicas} wanted: stored ranges are acknowledged without them`);
      }
      this.replicas = connected;
    }
    return this.replicas;
  }

  private pack(keyHash: string, options: Record<string, unknown>): string {
    return JSON.stringify({ ...options, now: this.options.now(), channel: this.options.eventsChannel, keyHash });
  }
}
