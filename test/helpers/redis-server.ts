/**
 * A private redis-server for a test file, on a unix socket in its own temp folder (no port
 * to pick, so none to lose to another process), stopped and its folder removed by
 * `stop()`. Never a shared or default Redis.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRedisProcess, type RedisProcess } from '../../scripts/lib/redis-server.js';

export { freePort } from '../../scripts/lib/redis-server.js';

export interface RedisServer extends RedisProcess {
  stop(): Promise<void>;
}

export async function startRedisServer(options: { appendOnly?: boolean } = {}): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-redis-'));
  const redis = await startRedisProcess({ dir, appendOnly: options.appendOnly, unixSocket: true });
  return {
    ...redis,
    async stop() {
      await redis.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
