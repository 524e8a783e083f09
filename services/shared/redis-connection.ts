import { Redis } from 'ioredis';

/**
 * A connection for the HTTP path: it fails fast while Redis is away (no offline queue,
 * one retry, a command timeout) so a chunk request gets a 503 at once instead of hanging.
 * (../shared/LESSONS.md, "BullMQ facts".)
 */
export function createRequestConnection(url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 5_000,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}

/**
 * A connection for the BullMQ Worker: BullMQ requires `maxRetriesPerRequest: null`
 * for its blocking commands, and a worker should wait for Redis rather than fail jobs.
 */
export function createWorkerConnection(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}
