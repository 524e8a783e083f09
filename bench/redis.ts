/**
 * The benchmark's private redis-server: on a loopback TCP port, as a deployment reaches
 * Redis (the tests use a unix socket; the round-trip counter tells our own connection from
 * the services' by its TCP address, which a unix socket does not give). Its folder is
 * removed when the benchmark ends. Only scripts/lib is used, not test/ helpers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startRedisProcess } from '../scripts/lib/redis-server.js';
import { onCleanup } from './processes.js';

export interface BenchRedis {
  url: string;
  pid: number;
  version: string;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-bench-redis-'));
  const redis = await startRedisProcess({ dir });
  onCleanup(async () => {
    await redis.kill();
    await rm(dir, { recursive: true, force: true });
  });
  const admin = new Redis(redis.url);
  try {
    const info = await admin.info('server');
    return { url: redis.url, pid: Number(/process_id:(\d+)/.exec(info)![1]), version: /redis_version:(\S+)/.exec(info)?.[1] ?? '?' };
  } finally {
    admin.disconnect();
  }
}
