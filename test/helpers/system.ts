/**
 * A whole Chunkyard for one test file, from real parts: a private redis-server, a temp
 * data folder, N ingest services on their own HTTP ports sharing both, and (optionally)
 * merge workers, all in this process. `stop()` closes all of it and removes the folders.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Queue } from 'bullmq';
import pino from 'pino';
import { uploadKeyHash } from '../../services/core/keys.js';
import type { MergeJobData } from '../../services/core/merge-scheduler.js';
import { LIVE_STATES, type UploadRecord } from '../../services/core/upload.js';
import type { StorageDriver, SweepReport } from '../../services/core/storage-driver.js';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createStorageDriver } from '../../services/shared/storage.js';
import { S3Driver } from '../../services/storage/s3/s3-driver.js';
import { createIngestService, type IngestService } from '../../services/ingest/ingest-service.js';
import { loadConfig, type Config } from '../../services/shared/config.js';
import { createMergeQueue, type MergeJobResult } from '../../services/shared/merge-queue.js';
import { createWorkerConnection, redisTarget, type RedisConnection } from '../../services/shared/redis-connection.js';
import { RedisStateStore } from '../../services/state/redis-state-store.js';
import { FsLayout } from '../../services/storage/fs/fs-layout.js';
import { createSweeper } from '../../services/worker/sweeper.js';
import { createWorkerService, type WorkerService } from '../../services/worker/worker-service.js';
import { eventually } from './eventually.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export interface SystemOptions {
  ingestInstances?: number;
  /** Run Redis with an append-only file, as docker compose does (for restart tests). */
  redisAppendOnly?: boolean;
  worker?: boolean;
  env?: Record<string, string>;
  /**
   * Each ingest and worker gets a DATA_DIR of its own, as on separate hosts (with
   * STORAGE=s3 nothing is shared but Redis and the bucket).
   */
  dataDirPerProcess?: boolean;
}

/** An upload record, with its published file's fields at hand (`size` is the published size). */
export interface UploadView extends Omit<UploadRecord, 'size'> {
  totalSize: number | undefined;
  path?: string;
  size?: number;
  sha256?: string;
}

export interface TestSystem {
  /** Base URLs of the ingest instances, e.g. http://127.0.0.1:4567 */
  urls: string[];
  /** Base URLs of each ingest instance's own operations port (/metrics, /healthz, /readyz). */
  opsUrls: string[];
  ingests: IngestService[];
  /** The parent of DATA_DIR: nothing may appear here but DATA_DIR itself. */
  sandbox: string;
  config: Config;
  layout: FsLayout;
  redisServer: RedisServer;
  /** A plain client for assertions. */
  redis: RedisConnection;
  state: RedisStateStore;
  queue: Queue<MergeJobData, MergeJobResult | undefined>;
  /** The storage driver the services use (another instance over the same data folder or bucket). */
  storage: StorageDriver;
  /** The bytes of a published upload, from wherever the storage driver put them. */
  readPublished(upload: UploadView): Promise<Buffer>;
  /** Runs the sweep now, removing unowned data untouched for `olderThanMs`. */
  sweep(olderThanMs?: number): Promise<SweepReport>;
  /** Data files (partial/) that no live upload owns: what a refused request may have left for the sweep. */
  unownedDataFiles(): Promise<string[]>;
  /** Starts a worker service; resolves with it once it takes jobs, and its metrics URL. */
  startWorker(env?: Record<string, string>): Promise<WorkerService & { url: string }>;
  keyHashOf(identifier: string): string;
  readUpload(identifier: string): Promise<UploadView | undefined>;
  waitForState(identifier: string, states: string[], timeoutMs?: number): Promise<UploadView>;
  stop(): Promise<void>;
}

async function listen(server: import('node:http').Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

export function viewOf({ size, ...upload }: UploadRecord): UploadView {
  return { ...upload, totalSize: size, ...(upload.result ? { path: upload.result.location, size: upload.result.size, sha256: upload.result.sha256 } : {}) };
}

export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  const sandbox = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-test-'));
  const redisServer = await startRedisServer({ appendOnly: options.redisAppendOnly });
  const env = {
    DATA_DIR: path.join(sandbox, 'data'),
    REDIS_URL: redisServer.url,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    MERGE_LOCK_MS: '2000',
    // The machine's disk, not the test, decides how much is free.
    MIN_FREE_DISK: '1MB',
    ...options.env,
  };
  const config = loadConfig(env);
  const logger = pino({ level: config.LOG_LEVEL });
  const layout = new FsLayout(config.dataDir);

  const closers: (() => Promise<unknown>)[] = [];
  const redis = createWorkerConnection(redisTarget(config));
  // Tests that stop or fail over Redis expect connection errors; they must not end the process.
  redis.on('error', () => undefined);
  // Whatever started is stopped again if the rest fails to start.
  const stopAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    redis.disconnect();
    await redisServer.stop();
    await rm(sandbox, { recursive: true, force: true });
  };
  try {
    return await assemble();
  } catch (err) {
    await stopAll();
    throw err;
  }

  async function assemble(): Promise<TestSystem> {
  const state = new RedisStateStore({
    redis, prefix: config.REDIS_PREFIX, idleTtlSeconds: config.UPLOAD_TTL, resultTtlSeconds: config.RESULT_TTL, cancelGraceMs: config.CANCEL_GRACE_MS, earlyMergeMinSize: 0,
  });
  const queue = createMergeQueue(redis, config.REDIS_PREFIX);

  const urls: string[] = [];
  const opsUrls: string[] = [];
  const ingests: IngestService[] = [];
  let processes = 0;
  /** The config of one more process: its own DATA_DIR when asked. */
  const configFor = (extra: Record<string, string> = {}) =>
    options.dataDirPerProcess || Object.keys(extra).length > 0
      ? loadConfig({ ...env, ...(options.dataDirPerProcess ? { DATA_DIR: path.join(sandbox, `data-${++processes}`) } : {}), ...extra })
      : config;
  for (let i = 0; i < (options.ingestInstances ?? 1); i++) {
    const ingest = await createIngestService(configFor(), logger);
    ingests.push(ingest);
    urls.push(await listen(ingest.server));
    opsUrls.push(await listen(ingest.opsServer));
    closers.push(() => ingest.close(0));
  }
  await layout.ensure();
  const storage = await createStorageDriver(config);
  closers.push(() => storage.close());
  const sweeper = createSweeper({ state, storage, unownedAfterMs: 0, logger });

  const keyHashOf = (identifier: string) => uploadKeyHash(config.UPLOAD_NAMESPACE, identifier);
  const readUpload = async (identifier: string) => {
    const upload = await state.read(keyHashOf(identifier));
    return upload ? viewOf(upload) : undefined;
  };
  const system: TestSystem = {
    urls,
    opsUrls,
    ingests,
    sandbox,
    config,
    layout,
    redisServer,
    redis,
    state,
    queue,
    storage,
    sweep: (olderThanMs = 0) => sweeper(olderThanMs),
    async unownedDataFiles() {
      const unowned: string[] = [];
      for (const name of await namesIn(layout.partialDir)) {
        const upload = await state.read(name.slice(0, 32));
        if (upload?.storageKey !== name || !LIVE_STATES.has(upload.state)) unowned.push(name);
      }
      return unowned;
    },
    async readPublished(upload) {
      if (!upload.path) throw new Error(`upload ${upload.identifier} was not published (${upload.state} ${upload.error ?? ''})`);
      if (storage instanceof S3Driver) {
        const object = await storage.client.send(new GetObjectCommand({ Bucket: config.S3_BUCKET, Key: upload.path }));
        return Buffer.from(await object.Body!.transformToByteArray());
      }
      return readFile(path.join(config.dataDir, upload.path!));
    },
    async startWorker(workerEnv = {}) {
      const worker = await createWorkerService(configFor(workerEnv), logger);
      const url = await listen(worker.server);
      closers.push(() => worker.close(0));
      await worker.ready;
      return { ...worker, url };
    },
    keyHashOf,
    readUpload,
    async waitForState(identifier, states, timeoutMs = 60_000) {
      return eventually(() => readUpload(identifier), {
        timeoutMs,
        accept: (upload) => upload !== undefined && states.includes(upload.state),
        what: `upload ${identifier} in ${states.join('|')}`,
      }) as Promise<UploadView>;
    },
    async stop() {
      closers.push(() => queue.close());
      await stopAll();
    },
  };
  if (options.worker) await system.startWorker();
  return system;
  }
}

/** Waits until a merge under way has hashed part of its upload; resolves with the bytes merged so far. */
export async function waitForPartialMerge(sys: TestSystem, identifier: string): Promise<number> {
  return eventually(async () => {
    const upload = await sys.readUpload(identifier);
    const job = upload ? await sys.queue.getJob(`merge-${upload.uploadId}`) : undefined;
    const bytes = (job?.progress as { bytes?: number } | undefined)?.bytes ?? 0;
    return bytes > 0 ? bytes : undefined;
  }, { what: `a partial merge of ${identifier}` }) as Promise<number>;
}

/** Names in a folder, or none when it is missing. */
export async function namesIn(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

export async function sizeOf(file: string): Promise<number> {
  return (await stat(file)).size;
}
