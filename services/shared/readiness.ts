/**
 * The readiness checks both processes run: Redis answers and has memory to spare, and the
 * storage takes writes. A Redis out of memory with `noeviction` (as compose runs it)
 * refuses every write, so the process is not ready then, though Redis still answers.
 */
import type { StorageDriver } from '../core/storage-driver.js';
import { NotReady, type ReadinessCheck } from './http/health.js';
import type { RedisConnection } from './redis-connection.js';

/** Not ready once Redis uses this share of its maxmemory. */
const REDIS_MEMORY_HIGH = 0.95;

export function redisReadiness(redis: RedisConnection): ReadinessCheck {
  return async () => {
    const info = await redis.info('memory');
    const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
    const max = Number(/^maxmemory:(\d+)/m.exec(info)?.[1] ?? 0);
    if (max > 0 && used >= max * REDIS_MEMORY_HIGH) throw new NotReady(`memory nearly full (${Math.round((used / max) * 100)} %)`);
  };
}

export function storageReadiness(storage: StorageDriver): ReadinessCheck {
  return async () => {
    try {
      await storage.ready();
    } catch (err) {
      // Drivers reject with short reasons meant to be shown (storage-driver.ts).
      throw new NotReady(err instanceof Error ? err.message : 'unavailable');
    }
  };
}
