/**
 * The benchmark of issues 6 and 11: `npm run bench` (never part of `npm test`).
 *
 *   BENCH_SIZE=quick   1×64 MiB and 16×2 MiB, K=8, 3 repetitions (the default when CI is set)
 *   BENCH_SIZE=full    1×256 MiB and 64×4 MiB, K=1 and 8, 5 repetitions, plus the 4 GiB memory run
 *   BENCH_REPS=n       repetitions; BENCH_K=1,8 the concurrencies; BENCH_MEMORY=0|1 the memory run; BENCH_MEMORY_GIB=4
 *   BENCH_INGESTS=n    ingest instances behind the round-robin client (default 1)
 *   BENCH_PROFILE=dir  run ingest and worker with --cpu-prof, profiles into dir
 *   BENCH_PATCH=file   A/B: compile services/ with this patch applied (bench/experiments/*.diff)
 *   BENCH_REF=commit   compile services/ from that commit, not the working tree
 *   BENCH_INGEST_NODE_ARGS, BENCH_WORKER_NODE_ARGS  extra node flags (space separated), e.g.
 *                      "--max-semi-space-size=4" or "--heapsnapshot-signal=SIGUSR2"
 *   BENCH_RUNTIME=tsx  run services and baselines from source with tsx (default: compiled,
 *                      like the Docker image, into a temp folder: a snapshot of the tree)
 *   BENCH_SAVE=file    also write every sample to file (JSON), to render the report again
 *                      with `node --import tsx bench/render.ts file`
 *   BENCH_S3=0         no S3 runs (issue 12; they need Ceph's radosgw, ceph-mon, ceph-osd)
 *   BENCH_TUS=0        no runs of Chunkyard's tus endpoint (issue 13)
 *
 * Prints progress on stderr, then the markdown report and one JSON line on stdout.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SERVICE_NODE_FLAGS } from '../scripts/lib/node-flags.js';
import { loadConfig } from '../services/shared/config.js';
import { ChunkSource } from './chunk-source.js';
import {
  baselineContender, cellGroups, chunkyardContender, chunkyardS3Contender, chunkyardTusContender, infoOf, s3DirectContender, s3StagedContender, TUS_WIRES, tusContender,
  type Contender, type Wire,
} from './contenders.js';
import type { BodyKind } from './load-client.js';
import { memoryRun, roundTripRun, type RunSample, type Shape } from './phases.js';
import { benchRef, onCleanup, prepareBuild, repoRoot, runScript } from './processes.js';
import { startBenchRedis } from './redis.js';
import { RoundTripCounter } from './redis-roundtrips.js';
import { startS3Store, type S3Store } from './s3-store.js';
import { buildReport, runKey, type Results } from './report.js';
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
      // As large as EARLY_MERGE_MIN_SIZE, so it merges while it arrives, as 1×256 MiB does.
      { name: '1×64 MiB', files: 1, fileSize: 64 * MiB, chunkSize: CHUNK },
      { name: '16×2 MiB', files: 16, fileSize: 2 * MiB, chunkSize: CHUNK },
    ];
const reps = Number(process.env.BENCH_REPS ?? (full ? 5 : 3));
const concurrencies = (process.env.BENCH_K ?? (full ? '1,8' : '8')).split(',').map(Number);
const bodies: BodyKind[] = ['multipart', 'octet'];
const s3On = process.env.BENCH_S3 !== '0';
const tusOn = process.env.BENCH_TUS !== '0';
const wires: Wire[] = [...bodies, ...(tusOn ? TUS_WIRES : ['tus' as const]), ...(s3On ? ['s3-multipart' as const, 's3-staged' as const] : [])];
const costBytes = (full ? 64 : 16) * MiB;
const costChunkSizes: [number, number] = [MiB, 64 * 1024];
const memoryRunOn = process.env.BENCH_MEMORY ? process.env.BENCH_MEMORY === '1' : full;
const memoryGiB = Number(process.env.BENCH_MEMORY_GIB ?? 4);
const ingestCount = Number(process.env.BENCH_INGESTS ?? 1);
const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;

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
  const vars = ['BENCH_SIZE', 'BENCH_REPS', 'BENCH_S3', 'BENCH_TUS', 'BENCH_K', 'BENCH_MEMORY', 'BENCH_MEMORY_GIB', 'BENCH_INGESTS', 'BENCH_REF', 'BENCH_PATCH', 'BENCH_INGEST_NODE_ARGS', 'BENCH_WORKER_NODE_ARGS']
    .filter((name) => process.env[name] !== undefined)
    .map((name) => (/\s/.test(process.env[name]!) ? `${name}='${process.env[name]}'` : `${name}=${process.env[name]}`));
  return [...vars, 'npm run bench'].join(' ');
}

function describe(sample: RunSample): string {
  const parts = [`ingest ${fmt(sample.ingestMiBps)} MiB/s`];
  if (sample.e2eMiBps !== undefined) parts.push(`e2e ${fmt(sample.e2eMiBps)} MiB/s`);
  parts.push(`p99 ${fmt(sample.p99Ms)} ms`);
  const written = Object.values(sample.writeBytes).reduce((sum, bytes) => sum + bytes, 0);
  parts.push(`written ${fmt(written / sample.bytes, 3)}×`);
  if (sample.tails?.length === 1) parts.push(`tail ${fmt(sample.tails[0]!.tailMs, 0)} ms`);
  return parts.join(', ');
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-bench-'));
  onCleanup(() => rm(scratch, { recursive: true, force: true }));
  const redis = await startBenchRedis();
  const ref = benchRef();
  const build = await prepareBuild();
  const defaults = loadConfig({});
  log(`mode ${mode}, ${reps} repetitions, K ${concurrencies.join(',')}, services ${build.runtime} (${build.ingest}), scratch ${scratch}`);

  const nodeArgs = (name: string) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, name)}`] : []);
  const extraArgs = (variable: string) => (process.env[variable] ?? '').split(/\s+/).filter(Boolean);
  const start = (prefix: string, fsync: boolean) =>
    startChunkyard({
      build, redisUrl: redis.url, prefix, dataDir: path.join(scratch, prefix), fsync, ingests: ingestCount,
      ingestNodeArgs: [...extraArgs('BENCH_INGEST_NODE_ARGS'), ...nodeArgs(`ingest-${prefix}`)],
      workerNodeArgs: [...extraArgs('BENCH_WORKER_NODE_ARGS'), ...nodeArgs(`worker-${prefix}`)],
    });
  const systems: Chunkyard[] = [];
  onCleanup(async () => {
    for (const system of systems) await system.stop();
  });
  const withFsync = await start('cya', true);
  systems.push(withFsync);
  const noFsync = await start('cyb', false);
  systems.push(noFsync);
  const results: Results = {
    mode, reps, command: commandLine(), shapes, concurrencies, wires, contenders: [], runs: {}, cost: {}, roundTrips: {},
    earlyMergeMinSize: defaults.EARLY_MERGE_MIN_SIZE,
    costShape: { bytes: costBytes, chunkSizes: costChunkSizes, concurrency: 8 },
    environment: {
      commit: ref ? ref.slice(0, 7) : git(['rev-parse', '--short', 'HEAD']) + (git(['status', '--porcelain', 'services']) ? ' (services/ modified)' : ''),
      node: process.version, cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), redis: redis.version,
      ingests: ingestCount, chunk: `${CHUNK / MiB} MiB`, runtime: build.runtime, ...(s3On ? { s3: 'Ceph RGW (Pacific, memstore OSD) from test/helpers/ceph-rgw.ts' } : {}), ...(process.env.BENCH_PATCH ? { patch: path.basename(process.env.BENCH_PATCH) } : {}),
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
      const { sample, uploadIds } = await roundTripRun(withFsync, counter, body, new ChunkSource(64 * 1024), defaults.EARLY_MERGE_MIN_SIZE);
      results.roundTrips[body] = sample;
      roundTripUploads.push(...uploadIds);
    }
  } finally {
    await counter.stop();
  }
  // Issue 12: Chunkyard on a Ceph RGW of its own (started and removed by the test helper).
  let s3: { store: S3Store; system: Chunkyard } | undefined;
  if (s3On) {
    log('starting a Ceph RGW for the S3 runs');
    const store = await startS3Store();
    onCleanup(() => store.stop());
    // Started after the round trips are counted, which count every client of the Redis.
    const system = await startChunkyard({
      build, redisUrl: redis.url, prefix: 'cys', dataDir: path.join(scratch, 'cys'), fsync: false, ingests: ingestCount, env: store.env,
    });
    systems.push(system);
    s3 = { store, system };
  }
  await withFsync.startWorker();
  await noFsync.startWorker();
  await s3?.system.startWorker();
  await withFsync.waitMerged(roundTripUploads);

  const baseline = (kind: 'plain' | 'busboy' | 'koa-floor' | 'tus', fsync: boolean) => {
    const name = `${kind}${fsync ? '-fsync' : ''}`;
    // The floor is the ingest's stack: started with the ingest's node flags too, and with an
    // old generation sized like the ingest's. The floor's own heap is a few MB, so V8 keeps
    // its old-generation limit near 20 MB and Koa's per-request objects set off a
    // mark-compact every dozen requests (experiments/server-gc.ts: 55 per 768 requests,
    // 5.0 against 2.7 ms of CPU per request), which the ingest, whose heap is several times
    // larger, does not see (4 per GiB): without the hint the floor would measure that.
    const nodeArgs = kind === 'koa-floor' ? [...SERVICE_NODE_FLAGS.ingest, '--initial-old-space-size=64'] : [];
    return startBaseline(build, kind, path.join(scratch, name), { name, env: { FSYNC: fsync ? '1' : '0' }, nodeArgs });
  };
  const contenders: Contender[] = [
    chunkyardContender('chunkyard-fsync', 'Chunkyard, CHUNK_FSYNC=true', withFsync, redis.pid),
    chunkyardContender('chunkyard-nofsync', 'Chunkyard, CHUNK_FSYNC=false', noFsync, redis.pid),
    // The same processes through their tus endpoint (issue 13): with fsync (the default),
    // and without, as @tus/server (which never fsyncs) stores what it acknowledges.
    ...(tusOn
      ? [
          chunkyardTusContender('chunkyard-tus', 'Chunkyard tus, CHUNK_FSYNC=true', withFsync, redis.pid),
          chunkyardTusContender('chunkyard-tus-nofsync', 'Chunkyard tus, CHUNK_FSYNC=false', noFsync, redis.pid),
        ]
      : []),
    ...(s3 ? [chunkyardS3Contender('chunkyard-s3', 'Chunkyard, S3 (Ceph RGW)', s3.system, s3.store, redis.pid)] : []),
    baselineContender('node:http → file', 'ceiling', await baseline('plain', false), false, ['octet']),
    baselineContender('node:http → file, fdatasync', 'ceiling', await baseline('plain', true), true, ['octet']),
    baselineContender('node:http + busboy → file', 'ceiling', await baseline('busboy', false), false, ['multipart']),
    baselineContender('node:http + busboy → file, fdatasync', 'ceiling', await baseline('busboy', true), true, ['multipart']),
    baselineContender('Koa + busboy → file (floor)', 'floor', await baseline('koa-floor', false), false, ['multipart', 'octet']),
    baselineContender('Koa + busboy → file, fdatasync (floor)', 'floor', await baseline('koa-floor', true), true, ['multipart', 'octet']),
    tusContender('@tus/server + @tus/file-store', await baseline('tus', false)),
    ...(s3 ? [
      s3DirectContender('S3 multipart straight to the RGW (@aws-sdk/client-s3)', s3.store),
      s3StagedContender('each chunk stored, read back and sent in a part, straight to the RGW (the bound for chunks under 5 MiB)', s3.store),
    ] : []),
  ];
  results.contenders = contenders.map(infoOf);

  log('hashing the files to verify');
  for (const shape of shapes) for (let i = 0; i < shape.files; i++) source.sha256(i, shape.fileSize);

  const record = (key: string, sample: RunSample) => (results.runs[key] ??= []).push(sample);
  for (let rep = 0; rep < reps; rep++) {
    for (const shape of shapes) {
      for (const k of concurrencies) {
        // Compared runs next to each other (cellGroups); the groups rotated every repetition, and
        // each group's order reversed every other one, so no system always runs first or last.
        const groups = cellGroups(contenders).map((group) => (rep % 2 === 1 ? group.reverse() : group));
        const shift = rep % groups.length;
        for (const { contender, wire } of [...groups.slice(shift), ...groups.slice(0, shift)].flat()) {
          const sample = await contender.run(shape, k, wire, source);
          record(runKey(shape.name, k, wire, contender.name), sample);
          log(`rep ${rep + 1}/${reps} ${shape.name} K=${k} ${wire} ${contender.name}: ${describe(sample)}`);
        }
      }
    }
    for (const body of bodies) {
      for (const chunkSize of costChunkSizes) {
        const costShape: Shape = { name: 'cost', files: 1, fileSize: costBytes, chunkSize };
        const sample = await contenders[0]!.run(costShape, 8, body, chunkSize === CHUNK ? source : new ChunkSource(chunkSize));
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
    const sample = await memoryRun(fresh, redis.pid, shape, 'multipart', 8, source);
    results.memory = { ...sample, body: 'multipart', concurrency: 8 };
    log(`memory run: peak RSS ingest ${fmt(sample.rssMiB.ingest, 0)} MiB, worker ${fmt(sample.rssMiB.worker, 0)} MiB`);
  }

  if (process.env.BENCH_SAVE) await writeFile(process.env.BENCH_SAVE, JSON.stringify(results));
  const report = buildReport(results);
  process.stdout.write(`${report.markdown}\n${JSON.stringify(report.json)}\n`);
}

await runScript('bench', main);
