/**
 * One shape of the benchmark, repeated, against its ceiling (with fdatasync unless
 * CHUNK_FSYNC=false) and @tus/server: for quick
 * A/B work on the ingest and the merge without the whole `npm run bench`.
 *
 *   node --import tsx bench/experiments/one-shape.ts <files>x<MiB> <K> <multipart|octet|tus> [reps=5]
 *   e.g. node --import tsx bench/experiments/one-shape.ts 64x4 8 octet 5
 *
 * `tus`: plain tus PATCHes to Chunkyard's tus endpoint, against the plain ceiling (the bound
 * of one PATCH in flight) and @tus/server; the p50 shown is each system's request latency.
 *
 * Same build (BENCH_REF, BENCH_PATCH, BENCH_*_NODE_ARGS, BENCH_PROFILE), processes and
 * procedure as `npm run bench`; prints each repetition and the medians.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ChunkSource } from '../chunk-source.js';
import type { BodyKind } from '../load-client.js';
import { baselineRun, chunkyardRun, tusRun, type RunSample, type Shape } from '../phases.js';
import { chunkyardTusRun } from '../phases-tus.js';
import { onCleanup, prepareBuild, runScript } from '../processes.js';
import { startBenchRedis } from '../redis.js';
import { MiB, fmt, median } from '../stats.js';
import { startBaseline, startChunkyard } from '../systems.js';

const [shapeArg = '64x4', kArg = '8', bodyArg = 'octet', repsArg = '5'] = process.argv.slice(2);
const [files, sizeMiB] = shapeArg.split('x').map(Number) as [number, number];
const shape: Shape = { name: shapeArg, files, fileSize: sizeMiB * MiB, chunkSize: MiB };
const k = Number(kArg);
const body = bodyArg as BodyKind | 'tus';
const reps = Number(repsArg);
const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
const extraArgs = (variable: string) => (process.env[variable] ?? '').split(/\s+/).filter(Boolean);

function line(name: string, s: RunSample): string {
  const cpu = Object.entries(s.cpu).map(([role, seconds]) => `${role} ${fmt(seconds, 2)}`).join(', ');
  const tailMs = s.tails?.length ? Math.max(...s.tails.map((t) => t.tailMs)) : s.runTail?.tailMs;
  const tail = tailMs === undefined ? '' : `, tail ${fmt(tailMs, 0)} ms`;
  return `${name}: ingest ${fmt(s.ingestMiBps)} MiB/s, e2e ${fmt(s.e2eMiBps ?? Number.NaN)} MiB/s, p50 ${fmt(s.p50Ms)} ms, CPU s ${cpu}${tail}`;
}

await runScript('one-shape', async () => {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-bench-'));
  onCleanup(() => rm(scratch, { recursive: true, force: true }));
  const redis = await startBenchRedis();
  const redisPid = redis.pid;
  const build = await prepareBuild();
  const profileArgs = (name: string) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, name)}`] : []);
  const fsync = process.env.CHUNK_FSYNC !== 'false';
  const cy = await startChunkyard({
    build, redisUrl: redis.url, prefix: 'cya', dataDir: path.join(scratch, 'cya'), fsync,
    ingestNodeArgs: [...extraArgs('BENCH_INGEST_NODE_ARGS'), ...profileArgs('ingest')],
    workerNodeArgs: [...extraArgs('BENCH_WORKER_NODE_ARGS'), ...profileArgs('worker')],
  });
  onCleanup(() => cy.stop());
  await cy.startWorker();
  // The ceiling with the same durability as Chunkyard here (CHUNK_FSYNC, default true).
  const ceiling = await startBaseline(build, body === 'multipart' ? 'busboy' : 'plain', path.join(scratch, 'ceiling'), { env: { FSYNC: fsync ? '1' : '0' } });
  const tus = await startBaseline(build, 'tus', path.join(scratch, 'tus'));
  const source = new ChunkSource(MiB);
  for (let i = 0; i < shape.files; i++) source.sha256(i, shape.fileSize);

  const ingestRatios: number[] = [];
  const e2eRatios: number[] = [];
  const samples: RunSample[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const ours = body === 'tus' ? await chunkyardTusRun(cy, redisPid, shape, k, 1, source) : await chunkyardRun(cy, redisPid, shape, k, body, source);
    const top = await baselineRun(ceiling, shape, k, body === 'tus' ? 'octet' : body, source);
    const peer = await tusRun(tus, shape, k, source);
    samples.push(ours);
    ingestRatios.push(ours.ingestMiBps / top.ingestMiBps);
    e2eRatios.push(ours.e2eMiBps! / peer.e2eMiBps!);
    process.stdout.write(`rep ${rep + 1}\n  ${line('chunkyard', ours)}\n  ${line(ceiling.kind, top)}\n  ${line('tus', peer)}\n`);
  }
  const cpuOf = (role: string) => median(samples.map((s) => s.cpu[role] ?? Number.NaN));
  process.stdout.write(
    `${shape.name} K=${k} ${body}: ingest/${ceiling.kind} ${fmt(median(ingestRatios) * 100, 0)} %, e2e/tus ${fmt(median(e2eRatios), 2)}×, ` +
      `median CPU s ingest ${fmt(cpuOf('ingest'), 2)} worker ${fmt(cpuOf('worker'), 2)} redis ${fmt(cpuOf('redis'), 2)}\n`,
  );
});
