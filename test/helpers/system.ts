/**
 * A whole Chunkyard for one test file, from real parts: a private redis-server, a temp
 * data folder, N ingest apps on their own HTTP ports sharing both, and (optionally) an
 * in-process merge worker. `stop()` closes all of it and removes the folders.
 */
import http from 'node:http';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Queue, Worker } from 'bullmq';
import pino from 'pino';
import { buildIngestApp } from '../../services/ingest/app.js';
import { loadConfig, type Config } from '../../services/shared/config.js';
import { createMergeQueue, type MergeJobData, type MergeJobResult } from '../../services/shared/merge-job.js';
import { createRequestConnection, createWorkerConnection } from '../../services/shared/redis-connection.js';
import { StorageLayout } from '../../services/shared/storage-layout.js';
import { uploadKeyHash } from '../../services/shared/upload-key.js';
import { UploadStore, type UploadRecord } from '../../services/shared/upload-store.js';
import { createMergeWorker } from '../../services/worker/merge-worker.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export interface SystemOptions {
  ingestInstances?: number;
  worker?: boolean;
  env?: Record<string, string>;
}

export interface TestSystem {
  /** Base URLs of the ingest instances, e.g. http://127.0.0.1:4567 */
  urls: string[];
  /** The parent of DATA_DIR: nothing may appear here but DATA_DIR itself. */
  sandbox: string;
  config: Config;
  layout: StorageLayout;
  redisServer: RedisServer;
  /** A plain client for assertions. */
  redis: Redis;
  store: UploadStore;
  queue: Queue<MergeJobData, MergeJobResult>;
  worker: Worker | undefined;
  startWorker(): Worker;
  keyHashOf(identifier: string): string;
  waitForState(identifier: string, states: string[], timeoutMs?: number): Promise<UploadRecord>;
  stop(): Promise<void>;
}

export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  const sandbox = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-test-'));
  const redisServer = await startRedisServer();
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
  const storeOptions = { prefix: config.REDIS_PREFIX, idleTtlSeconds: config.UPLOAD_TTL, resultTtlSeconds: config.RESULT_TTL };
  const store = new UploadStore({ redis, ...storeOptions });
  const queue = createMergeQueue(redis, config.REDIS_PREFIX);

  const urls: string[] = [];
  for (let i = 0; i < (options.ingestInstances ?? 1); i++) {
    const connection = createRequestConnection(redisServer.url);
    connection.on('error', () => undefined);
    const ingestStore = new UploadStore({ redis: connection, ...storeOptions });
    const mergeQueue = createMergeQueue(connection, config.REDIS_PREFIX);
    const app = buildIngestApp({ config, store: ingestStore, mergeQueue, layout, logger });
    const server = http.createServer(app.callback());
    const sockets = new Set<net.Socket>();
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    urls.push(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      await mergeQueue.close();
      connection.disconnect();
    });
  }

  const system: TestSystem = {
    urls,
    sandbox,
    config,
    layout,
    redisServer,
    redis,
    store,
    queue,
    worker: undefined,
    startWorker() {
      const connection = createWorkerConnection(redisServer.url);
      const worker = createMergeWorker({
        connection,
        store,
        layout,
        logger,
        prefix: config.REDIS_PREFIX,
        concurrency: config.MERGE_CONCURRENCY,
        lockDurationMs: config.MERGE_LOCK_MS,
      });
      closers.push(async () => {
        await worker.close(true);
        connection.disconnect();
      });
      system.worker = worker;
      return worker;
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
  if (options.worker) system.startWorker();
  await mkdir(sandbox, { recursive: true });
  return system;
}
