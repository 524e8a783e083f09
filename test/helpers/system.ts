/**
 * A whole Chunkyard for one test file, from real parts: a private redis-server, a temp
 * data folder, N ingest services on their own HTTP ports sharing both, and (optionally)
 * merge workers, all in this process. `stop()` closes all of it and removes the folders.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import pino from 'pino';
import { createIngestService } from '../../services/ingest/ingest-service.js';
import { loadConfig, type Config } from '../../services/shared/config.js';
import { createMergeQueue, type MergeJobData, type MergeJobResult } from '../../services/shared/merge-job.js';
import { StorageLayout } from '../../services/shared/storage-layout.js';
import { uploadKeyHash } from '../../services/shared/upload-key.js';
import { UploadStore, type UploadRecord } from '../../services/shared/upload-store.js';
import { createWorkerService, type WorkerService } from '../../services/worker/worker-service.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export interface SystemOptions {
  ingestInstances?: number;
  /** Run Redis with an append-only file, as docker compose does (for restart tests). */
  redisAppendOnly?: boolean;
  worker?: boolean;
  env?: Record<string, string>;
}

export interface TestSystem {
  /** Base URLs of the ingest instances, e.g. http://127.0.0.1:4567 */
  urls: string[];
  /** Base URLs of each ingest instance's own operations port (/metrics, /healthz, /readyz). */
  opsUrls: string[];
  /** The parent of DATA_DIR: nothing may appear here but DATA_DIR itself. */
  sandbox: string;
  config: Config;
  layout: StorageLayout;
  redisServer: RedisServer;
  /** A plain client for assertions. */
  redis: Redis;
  store: UploadStore;
  queue: Queue<MergeJobData, MergeJobResult>;
  /** Starts a worker service; resolves with it once it takes jobs, and its metrics URL. */
  startWorker(): Promise<WorkerService & { url: string }>;
  keyHashOf(identifier: string): string;
  waitForState(identifier: string, states: string[], timeoutMs?: number): Promise<UploadRecord>;
  stop(): Promise<void>;
}

async function listen(server: import('node:http').Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  const sandbox = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-test-'));
  const redisServer = await startRedisServer({ appendOnly: options.redisAppendOnly });
  const config = loadConfig({
    DATA_DIR: path.join(sandbox, 'data'),
    REDIS_URL: redisServer.url,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    MERGE_LOCK_MS: '2000',
    ...options.env,
  });
  const logger = pino({ level: config.LOG_LEVEL });
  const layout = new StorageLayout(config.dataDir);
  await layout.ensure();

  const closers: (() => Promise<unknown>)[] = [];
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const store = new UploadStore({ redis, prefix: config.REDIS_PREFIX, idleTtlSeconds: config.UPLOAD_TTL, resultTtlSeconds: config.RESULT_TTL });
  const queue = createMergeQueue(redis, config.REDIS_PREFIX);

  const urls: string[] = [];
  const opsUrls: string[] = [];
  for (let i = 0; i < (options.ingestInstances ?? 1); i++) {
    const ingest = await createIngestService(config, logger);
    urls.push(await listen(ingest.server));
    opsUrls.push(await listen(ingest.opsServer));
    closers.push(() => ingest.close(0));
  }

  const system: TestSystem = {
    urls,
    opsUrls,
    sandbox,
    config,
    layout,
    redisServer,
    redis,
    store,
    queue,
    async startWorker() {
      const worker = await createWorkerService(config, logger);
      const url = await listen(worker.server);
      closers.push(() => worker.close(0));
      await worker.ready;
      return { ...worker, url };
    },
    keyHashOf: (identifier) => uploadKeyHash(config.UPLOAD_NAMESPACE, identifier),
    async waitForState(identifier, states, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: UploadRecord | undefined;
      while (Date.now() < deadline) {
        last = await store.readUpload(system.keyHashOf(identifier));
        if (last && states.includes(last.state)) return last;
        await sleep(20);
      }
      throw new Error(`upload ${identifier} did not reach ${states.join('|')} (last: ${last?.state ?? 'none'} ${last?.error ?? ''})`);
    },
    async stop() {
      for (const close of closers.reverse()) await close();
      await queue.close();
      redis.disconnect();
      await redisServer.stop();
      await rm(sandbox, { recursive: true, force: true });
    },
  };
  if (options.worker) await system.startWorker();
  return system;
}

/** Waits until a merge in `dir` has written part of its temp file; resolves with its size (0 if none appeared in 10 s). */
export async function waitForPartialMerge(dir: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const names = await readdir(dir).catch(() => [] as string[]);
    const temp = names.find((name) => name.endsWith('.merging'));
    const size = temp ? (await stat(path.join(dir, temp)).catch(() => ({ size: 0 }))).size : 0;
    if (size > 0) return size;
    await sleep(1);
  }
  return 0;
}
