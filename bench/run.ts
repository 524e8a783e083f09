/**
 * The benchmark of issue 6: `npm run bench` (never part of `npm test`).
 *
 *   BENCH_SIZE=quick   1×32 MiB and 16×2 MiB, 3 repetitions (the default when CI is set)
 *   BENCH_SIZE=full    1×256 MiB and 64×4 MiB, 5 repetitions, plus the 4 GiB memory run
 *   BENCH_REPS=n       repetitions; BENCH_MEMORY=0|1 the memory run; BENCH_MEMORY_GIB=4
 *   BENCH_INGESTS=n    ingest instances behind the round-robin client (default 1)
 *   BENCH_PROFILE=dir  run ingest and worker with --cpu-prof, profiles into dir
 *   BENCH_PATCH=file   A/B: compile services/ with this patch applied (bench/experiments/*.diff)
 *   BENCH_REF=commit   compile services/ from that commit, not the working tree
 *   BENCH_INGEST_NODE_ARGS, BENCH_WORKER_NODE_ARGS  extra node flags (space separated), e.g.
 *                      "--max-semi-space-size=4" or "--heapsnapshot-signal=SIGUSR2"
 *   BENCH_RUNTIME=tsx  run services and baselines from source with tsx (default: compiled,
 *                      like the Docker image, into a temp folder: a snapshot of the tree)
 *
 * Prints progress on stderr, then the markdown report and one JSON line on stdout.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../services/shared/config.js';
import { MERGE_QUEUE } from '../services/shared/merge-queue.js';
import { queuePrefix } from '../services/state/redis-keys.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { ChunkSource } from './chunk-source.js';
import type { BodyKind } from './load-client.js';
import { baselineRun, chunkyardRun, memoryRun, mergeRun, roundTripRun, tusRun, type RunSample, type Shape } from './phases.js';
import { benchRef, onCleanup, prepareBuild, repoRoot, runScript } from './processes.js';
import { RoundTripCounter } from './redis-roundtrips.js';
import { buildReport, ceilingOf, runKey, type Results, type SystemName } from './report.js';
import { MiB, fmt } from './stats.js';
import { startBaseline, startChunkyard, type Chunkyard } from './systems.js';

const mode = process.env.BENCH_SIZE ?? (process.env.CI ? 'quick' : 'full');
if (mode !== 'quick' && mode !== 'full') throw new Error(`BENCH_SIZE must be quick or full, not ${mode}`);
const full = mode === 'full';
const CHUNK = MiB;
const shapes: Shape[] = full
  ? [
      { name: '1×256 MiB', files: 1, fileSize: 256 * MiB, chunkSize: CHUNK },
      { name: '64×4 MiB', files: 64, fileSize: 4 * MiB, chunkSize: CHUNK },
    ]
  : [
      { name: '1×32 MiB', files: 1, fileSize: 32 * MiB, chunkSize: CHUNK },
      { name: '16×2 MiB', files: 16, fileSize: 2 * MiB, chunkSize: CHUNK },
    ];
const reps = Number(process.env.BENCH_REPS ?? (full ? 5 : 3));
const concurrencies = [1, 8];
const bodies: BodyKind[] = ['multipart', 'octet'];
const costBytes = (full ? 64 : 16) * MiB;
const costChunkSizes: [number, number] = [MiB, 64 * 1024];
const memoryRunOn = process.env.BENCH_MEMORY ? process.env.BENCH_MEMORY === '1' : full;
const memoryGiB = Number(process.env.BENCH_MEMORY_GIB ?? 4);
const ingestCount = Number(process.env.BENCH_INGESTS ?? 1);
const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
const MERGE_CONCURRENCY = 2; // the worker's default, which the cat baseline matches

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function commandLine(): string {
  const vars = ['BENCH_SIZE', 'BENCH_REPS', 'BENCH_MEMORY', 'BENCH_MEMORY_GIB', 'BENCH_INGESTS', 'BENCH_REF', 'BENCH_PATCH', 'BENCH_INGEST_NODE_ARGS', 'BENCH_WORKER_NODE_ARGS']
    .filter((name) => process.env[name] !== undefined)
    .map((name) => (/\s/.test(process.env[name]!) ? `${name}='${process.env[name]}'` : `${name}=${process.env[name]}`));
  return [...vars, 'npm run bench'].join(' ');
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-bench-'));
  onCleanup(() => rm(scratch, { recursive: true, force: true }));
  const redis = await startRedisServer();
  onCleanup(() => redis.stop());
  const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  admin.on('error', () => undefined);
  onCleanup(async () => admin.disconnect());
  const redisPid = Number(/process_id:(\d+)/.exec(await admin.info('server'))![1]);
  const ref = benchRef();
  const build = await prepareBuild();
  log(`mode ${mode}, ${reps} repetitions, services ${build.runtime} (${build.ingest}), scratch ${scratch}`);

  const nodeArgs = (name: string) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, name)}`] : []);
  const extraArgs = (variable: string) => (process.env[variable] ?? '').split(/\s+/).filter(Boolean);
  const start = (prefix: string, fsync: boolean) =>
    startChunkyard({
      build, redisUrl: redis.url, prefix, dataDir: path.join(scratch, prefix), fsync, ingests: ingestCount,
      ingestNodeArgs: [...extraArgs('BENCH_INGEST_NODE_ARGS'), ...nodeArgs(`ingest-${prefix}`)],
      workerNodeArgs: [...extraArgs('BENCH_WORKER_NODE_ARGS'), ...nodeArgs(`worker-${prefix}`)],
    });
  const withFsync = await start('cya', true);
  const noFsync = await start('cyb', false);
  const systems: Chunkyard[] = [withFsync, noFsync];
  onCleanup(async () => {
    for (const system of systems) await system.stop();
  });

  const results: Results = {
    mode, reps, command: commandLine(), shapes, concurrencies, bodies, runs: {}, merge: {}, cost: {}, roundTrips: {},
    costShape: { bytes: costBytes, chunkSizes: costChunkSizes, concurrency: 8 },
    environment: {
      commit: ref ? ref.slice(0, 7) : git(['rev-parse', '--short', 'HEAD']) + (git(['status', '--porcelain', 'services']) ? ' (services/ modified)' : ''),
      node: process.version, cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), redis: (await admin.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?',
      ingests: ingestCount, chunk: `${CHUNK / MiB} MiB`, runtime: build.runtime, ...(process.env.BENCH_PATCH ? { patch: path.basename(process.env.BENCH_PATCH) } : {}),
      ...(process.env.BENCH_INGEST_NODE_ARGS ? { ingestNodeArgs: process.env.BENCH_INGEST_NODE_ARGS } : {}),
      ...(process.env.BENCH_WORKER_NODE_ARGS ? { workerNodeArgs: process.env.BENCH_WORKER_NODE_ARGS } : {}),
    },
  };
  const source = new ChunkSource(CHUNK);

  // Redis round trips: before any worker runs, so only the ingest talks to Redis.
  log('Redis round trips');
  const counter = new RoundTripCounter(redis.url);
  await counter.start();
  const roundTripUploads: string[] = [];
  try {
    for (const body of bodies) {
      const { sample, uploadIds } = await roundTripRun(withFsync, counter, body, new ChunkSource(64 * 1024), loadConfig({}).EARLY_MERGE_MIN_SIZE);
      results.roundTrips[body] = sample;
      roundTripUploads.push(...uploadIds);
    }
  } finally {
    await counter.stop();
  }
  await withFsync.startWorker();
  await noFsync.startWorker();
  await withFsync.waitMerged(roundTripUploads);

  const plain = await startBaseline(build, 'plain', path.join(scratch, 'plain'));
  const busboy = await startBaseline(build, 'busboy', path.join(scratch, 'busboy'));
  const tus = await startBaseline(build, 'tus', path.join(scratch, 'tus'));
  // The floor of Chunkyard's own stack (Koa, @koa/router, koa-body), with and without fsync.
  const floorFsync = await startBaseline(build, 'koa-floor', path.join(scratch, 'floor-fsync'), { name: 'koa-floor-fsync', env: { FSYNC: '1' } });
  const floorNoFsync = await startBaseline(build, 'koa-floor', path.join(scratch, 'floor-nofsync'), { name: 'koa-floor-nofsync', env: { FSYNC: '0' } });
  const queue = new Queue(MERGE_QUEUE, { connection: admin, prefix: queuePrefix('cya') });
  onCleanup(() => queue.close());

  log('hashing the files to verify');
  for (const shape of shapes) for (let i = 0; i < shape.files; i++) source.sha256(i, shape.fileSize);

  const record = (key: string, sample: RunSample) => (results.runs[key] ??= []).push(sample);
  for (let rep = 0; rep < reps; rep++) {
    for (const shape of shapes) {
      for (const k of concurrencies) {
        for (const body of bodies) {
          const contenders: [SystemName, () => Promise<RunSample>][] = [
            ['chunkyard-fsync', () => chunkyardRun(withFsync, redisPid, shape, k, body, source)],
            ['chunkyard-nofsync', () => chunkyardRun(noFsync, redisPid, shape, k, body, source)],
            [ceilingOf(body), () => baselineRun(body === 'multipart' ? busboy : plain, shape, k, body, source)],
            ['koa-floor-fsync', () => baselineRun(floorFsync, shape, k, body, source)],
            ['koa-floor-nofsync', () => baselineRun(floorNoFsync, shape, k, body, source)],
          ];
          // Rotate the order every repetition, so no system always runs first or last.
          for (let i = 0; i < contenders.length; i++) {
            const [system, run] = contenders[(i + rep) % contenders.length]!;
            const sample = await run();
            record(runKey(shape.name, k, body, system), sample);
            log(`rep ${rep + 1}/${reps} ${shape.name} K=${k} ${body} ${system}: ingest ${fmt(sample.ingestMiBps)} MiB/s, e2e ${fmt(sample.e2eMiBps)} MiB/s, p99 ${fmt(sample.p99Ms)} ms`);
          }
        }
        const sample = await tusRun(tus, shape, k, source);
        record(runKey(shape.name, k, 'octet', 'tus'), sample);
        log(`rep ${rep + 1}/${reps} ${shape.name} K=${k} tus: e2e ${fmt(sample.e2eMiBps)} MiB/s, p99 ${fmt(sample.p99Ms)} ms`);
      }
      const merge = await mergeRun(withFsync, queue, redisPid, shape, source, scratch, MERGE_CONCURRENCY);
      (results.merge[shape.name] ??= []).push(merge);
      log(`rep ${rep + 1}/${reps} ${shape.name} merge ${fmt(merge.mergeSeconds, 2)} s, cat+sync ${fmt(merge.catSeconds, 2)} s`);
    }
    for (const body of bodies) {
      for (const chunkSize of costChunkSizes) {
        const costShape: Shape = { name: 'cost', files: 1, fileSize: costBytes, chunkSize };
        const sample = await chunkyardRun(withFsync, redisPid, costShape, 8, body, chunkSize === CHUNK ? source : new ChunkSource(chunkSize));
        (results.cost[`${body}|${chunkSize}`] ??= []).push(sample);
        log(`rep ${rep + 1}/${reps} cost ${body} ${chunkSize / 1024} KiB chunks: ingest CPU ${fmt(sample.cpu.ingest, 2)} s, worker CPU ${fmt(sample.cpu.worker, 2)} s`);
      }
    }
  }

  if (memoryRunOn) {
    log(`memory run: 1 × ${memoryGiB} GiB, multipart, K=8 (fresh processes)`);
    for (const system of systems.splice(0)) await system.stop();
    const fresh = await start('cym', true);
    systems.push(fresh);
    await fresh.startWorker();
    const shape: Shape = { name: `1×${memoryGiB} GiB`, files: 1, fileSize: memoryGiB * 1024 * MiB, chunkSize: CHUNK };
    source.sha256(0, shape.fileSize);
    const sample = await memoryRun(fresh, redisPid, shape, 'multipart', 8, source);
    results.memory = { ...sample, body: 'multipart', concurrency: 8 };
    log(`memory run: peak RSS ingest ${fmt(sample.rssMiB.ingest, 0)} MiB, worker ${fmt(sample.rssMiB.worker, 0)} MiB`);
  }

  const report = buildReport(results);
  process.stdout.write(`${report.markdown}\n${JSON.stringify(report.json)}\n`);
}

await runScript('bench', main);
