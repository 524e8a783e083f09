/**
 * Starts the systems under test as separate processes: Chunkyard (N ingest instances and
 * a worker, from the build) and the baseline servers of ./baselines.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { SERVICE_NODE_FLAGS } from '../scripts/lib/node-flags.js';
import { freePort } from '../scripts/lib/redis-server.js';
import { spawnNode, type BaselineKind, type Build, type LogLine, type NodeProcess } from './processes.js';

export interface MergedLine {
  uploadId: string;
  path: string;
  size: number;
  sha256: string;
  /** The worker's own duration of the job (from its start, early merges included). */
  ms: number;
  /** The worker's clock when it logged the line (epoch ms, pino's `time`). */
  time: number;
  /** Whether the merge followed the upload while it arrived. */
  early: boolean;
  /** performance.now() when the bench read the line */
  receivedAt: number;
}

export interface ChunkyardOptions {
  build: Build;
  redisUrl: string;
  prefix: string;
  dataDir: string;
  fsync: boolean;
  ingests?: number;
  /** Extra node flags (e.g. --cpu-prof) for the ingest and the worker, after the ones they are always started with. */
  ingestNodeArgs?: string[];
  workerNodeArgs?: string[];
  /** More settings of both services, over the bench's (another storage driver, say). */
  env?: Record<string, string>;
}

export interface Chunkyard {
  options: ChunkyardOptions;
  urls: string[];
  ingests: NodeProcess[];
  worker: NodeProcess | undefined;
  startWorker(): Promise<NodeProcess>;
  /** Resolves with the worker's `merged` line of every upload id (rejects on a failed merge). */
  waitMerged(uploadIds: string[], timeoutMs?: number): Promise<MergedLine[]>;
  /** The processes to measure: each ingest (`ingest-<i>`) and the worker. */
  pids(): Record<string, number>;
  stop(): Promise<void>;
}

function chunkyardEnv(options: ChunkyardOptions): Record<string, string> {
  return {
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.prefix,
    DATA_DIR: options.dataDir,
    HOST: '127.0.0.1',
    // info, not warn: the start-up lines say a process is ready and `merged` says a file
    // is done. Both services log a handful of lines per file at info, none per chunk.
    LOG_LEVEL: 'info',
    MAX_FILE_SIZE: '8GB',
    CHUNK_FSYNC: String(options.fsync),
    // The bench's scratch folder shares a disk with other work: keep only a token reserve.
    MIN_FREE_DISK: '1MB',
    // One client address sends every upload of the run (and thousands over a run).
    QUOTA_UPLOADS: '100000',
    QUOTA_BYTES: '1TB',
    ...options.env,
  };
}

export async function startChunkyard(options: ChunkyardOptions): Promise<Chunkyard> {
  await mkdir(options.dataDir, { recursive: true });
  const merged = new Map<string, MergedLine>();
  const failed = new Map<string, string>();
  const waiters = new Set<() => void>();
  const ingests: NodeProcess[] = [];
  const urls: string[] = [];
  for (let i = 0; i < (options.ingests ?? 1); i++) {
    const port = await freePort();
    const ingest = spawnNode(`ingest-${options.prefix}-${i}`, options.build.ingest, {
      ...chunkyardEnv(options),
      PORT: String(port),
      // Each instance answers /metrics and /readyz on a port of its own.
      OPS_PORT: String(await freePort()),
    }, [...SERVICE_NODE_FLAGS.ingest, ...(options.ingestNodeArgs ?? [])]);
    ingests.push(ingest);
    await ingest.waitForLog('ingest listening');
    urls.push(`http://127.0.0.1:${port}`);
  }

  const system: Chunkyard = {
    options,
    urls,
    ingests,
    worker: undefined,
    async startWorker() {
      const worker = spawnNode(`worker-${options.prefix}`, options.build.worker, {
        ...chunkyardEnv(options),
        // The worker's own HTTP port, where the services have one (metrics, health).
        WORKER_PORT: String(await freePort()),
      }, [...SERVICE_NODE_FLAGS.worker, ...(options.workerNodeArgs ?? [])]);
      worker.onLog((line: LogLine) => {
        if (line.msg === 'merged' && typeof line.uploadId === 'string') {
          merged.set(line.uploadId, {
            uploadId: line.uploadId,
            // The published file's place relative to DATA_DIR (`location` of the merge result).
            path: String(line.location ?? line.path),
            size: Number(line.size),
            sha256: String(line.sha256),
            ms: Number(line.ms),
            time: Number(line.time),
            early: line.early === true,
            receivedAt: performance.now(),
          });
        } else if (line.msg === 'merge attempt failed' && typeof line.uploadId === 'string') {
          failed.set(line.uploadId, String(line.err));
        } else return;
        for (const wake of waiters) wake();
      });
      system.worker = worker;
      await worker.waitForLog('worker ready');
      return worker;
    },
    waitMerged(uploadIds, timeoutMs = 30 * 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const bad = uploadIds.find((id) => failed.has(id));
          if (bad) finish(new Error(`merge of ${bad} failed: ${failed.get(bad)}`));
          else if (uploadIds.every((id) => merged.has(id))) finish(undefined);
        };
        const finish = (err: Error | undefined) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else {
            const lines = uploadIds.map((id) => merged.get(id)!);
            for (const id of uploadIds) merged.delete(id);
            resolve(lines);
          }
        };
        const timer = setTimeout(() => finish(new Error(`merges not done after ${timeoutMs} ms`)), timeoutMs);
        waiters.add(check);
        check();
      });
    },
    pids() {
      const pids: Record<string, number> = {};
      ingests.forEach((ingest, i) => (pids[`ingest-${i}`] = ingest.pid));
      if (system.worker) pids.worker = system.worker.pid;
      return pids;
    },
    async stop() {
      await Promise.all([...ingests.map((p) => p.stop()), system.worker?.stop()]);
    },
  };
  return system;
}

export interface Baseline {
  kind: BaselineKind;
  /** The name it is reported under (the kind, or e.g. `koa-floor-fsync`). */
  name: string;
  url: string;
  dir: string;
  process: NodeProcess;
}

/** A baseline server; `env` e.g. { FSYNC: '1' } (every baseline but tus takes it); `nodeArgs`, node flags. */
export async function startBaseline(build: Build, kind: BaselineKind, dir: string, options: { name?: string; env?: Record<string, string>; nodeArgs?: readonly string[] } = {}): Promise<Baseline> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const name = options.name ?? kind;
  const child = spawnNode(name, path.join(build.baselines, `${kind}-server.${build.runtime === 'tsx' ? 'ts' : 'js'}`), { PORT: String(port), DIR: dir, ...options.env }, [...(options.nodeArgs ?? [])]);
  await child.waitForLog('listening');
  return { kind, name, url: `http://127.0.0.1:${port}`, dir, process: child };
}
