/**
 * Connections to the Redis that holds upload state and the queues: one server
 * (`REDIS_URL`), a Cluster (`REDIS_CLUSTER_NODES`) or a Sentinel group (`REDIS_SENTINELS`
 * with `REDIS_SENTINEL_MASTER`). Two kinds:
 * - for the HTTP path, failing fast while Redis is away (no offline queue, one retry, a
 *   command timeout) so a request gets a 503 at once instead of hanging;
 * - for BullMQ workers, QueueEvents and pub/sub, waiting for Redis instead
 *   (BullMQ requires `maxRetriesPerRequest: null` for its blocking commands).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';

export type RedisConnection = Redis | Cluster;

export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[] }
  | { kind: 'sentinel'; sentinels: { host: string; port: number }[]; name: string };

function hostPorts(list: string): { host: string; port: number }[] {
  return list.split(',').map((entry) => {
    const [host, port] = entry.trim().split(':') as [string, string];
    return { host, port: Number(port) };
  });
}

export function redisTarget(config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_MASTER'>): RedisTarget {
  if (config.REDIS_CLUSTER_NODES !== '') return { kind: 'cluster', nodes: hostPorts(config.REDIS_CLUSTER_NODES) };
  if (config.REDIS_SENTINELS !== '') return { kind: 'sentinel', sentinels: hostPorts(config.REDIS_SENTINELS), name: config.REDIS_SENTINEL_MASTER };
  return { kind: 'single', url: config.REDIS_URL };
}

const reconnect = (attempt: number) => Math.min(attempt * 200, 2_000);

function connect(target: RedisTarget, options: RedisOptions): RedisConnection {
  switch (target.kind) {
    case 'single':
      return target.url.startsWith('unix://') ? new Redis({ ...options, path: target.url.slice('unix://'.length) }) : new Redis(target.url, options);
    case 'sentinel':
      return new Redis({ ...options, sentinels: target.sentinels, name: target.name, sentinelRetryStrategy: reconnect });
    case 'cluster':
      return new Cluster(target.nodes, {
        redisOptions: options,
        enableOfflineQueue: options.enableOfflineQueue ?? true,
        clusterRetryStrategy: reconnect,
        // A failover moves slots: follow MOVED/ASK redirections for a while before failing.
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        ...(options.maxRetriesPerRequest === null ? {} : { maxRedirections: 8 }),
      });
  }
}

export function createRequestConnection(target: RedisTarget): RedisConnection {
  return connect(target, {
    enableOfflineQueue: false,
    // A command whose reply was lost when the connection dropped must fail (the client
    // retries), never be sent again behind its back: a second run of a recording script
    // would find its own range recorded and report it as someone else's duplicate.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 5_000,
    connectTimeout: 2_000,
    retryStrategy: reconnect,
  });
}

export function createWorkerConnection(target: RedisTarget): RedisConnection {
  return connect(target, { maxRetriesPerRequest: null, retryStrategy: reconnect });
}
