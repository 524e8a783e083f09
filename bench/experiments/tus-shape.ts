/**
 * Plain tus on one shape, repeated: Chunkyard's tus endpoint against @tus/server and
 * against the bare ceiling (the plain node:http server that writes each 1 MiB body and,
 * with CHUNK_FSYNC, fdatasyncs it), taking turns, for quick work on the PATCH path.
 *
 *   node --import tsx bench/experiments/tus-shape.ts <files>x<MiB> <K> [reps=5]
 *   e.g. node --import tsx bench/experiments/tus-shape.ts 1x256 1 5
 *
 * Same build (BENCH_REF, BENCH_PATCH, BENCH_*_NODE_ARGS), processes and procedure as
 * `npm run bench`; prints each repetition, the medians and the processes' pids (to trace).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ChunkSource } from '../chunk-source.js';
import { baselineRun, tusRun, type RunSample, type Shape } from '../phases.js';
import { chunkyardTusRun } from '../phases-tus.js';
import { onCleanup, prepareBuild, runScript } from '../processes.js';
import { startBenchRedis } from '../redis.js';
import { MiB, fmt, median } from '../stats.js';
import { startBaseline, startChunkyard } from '../systems.js';

const [shapeArg = '1x256', kArg = '1', repsArg = '5'] = process.argv.slice(2);
const [files, sizeMiB] = shapeArg.split('x').map(Number) as [number, number];
const shape: Shape = { name: shapeArg, files, fileSize: sizeMiB * MiB, chunkSize: MiB };
const k = Number(kArg);
const reps = Number(repsArg);
const fsync = process.env.CHUNK_FSYNC !== 'false';
const extraArgs = (variable: string) => (process.env[variable] ?? '').split(/\s+/).filter(Boolean);

const line = (name: string, s: RunSample) =>
  `${name}: ingest ${fmt(s.ingestMiBps)} MiB/s, e2e ${fmt(s.e2eMiBps ?? Number.NaN)} MiB/s, p50 ${fmt(s.p50Ms, 2)} ms, p99 ${fmt(s.p99Ms, 2)} ms` +
  (s.runTail ? `, tail ${fmt(s.runTail.tailMs, 0)} ms` : '');

await runScript('tus-shape', async () => {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-bench-'));
  onCleanup(() => rm(scratch, { recursive: true, force: true }));
  const redis = await startBenchRedis();
  const build = await prepareBuild();
  const cy = await startChunkyard({
    build, redisUrl: redis.url, prefix: 'cya', dataDir: path.join(scratch, 'cya'), fsync,
    ingestNodeArgs: extraArgs('BENCH_INGEST_NODE_ARGS'), workerNodeArgs: extraArgs('BENCH_WORKER_NODE_ARGS'),
  });
  onCleanup(() => cy.stop());
  await cy.startWorker();
  const ceiling = await startBaseline(build, 'plain', path.join(scratch, 'ceiling'), { env: { FSYNC: fsync ? '1' : '0' } });
  const tus = await startBaseline(build, 'tus', path.join(scratch, 'tus'));
  process.stdout.write(`pids: ${JSON.stringify({ ...cy.pids(), redis: redis.pid })}\n`);
  const source = new ChunkSource(MiB);
  for (let i = 0; i < shape.files; i++) source.sha256(i, shape.fileSize);

  const ratios = { tus: [] as number[], ceiling: [] as number[] };
  for (let rep = 0; rep < reps; rep++) {
    const ours = await chunkyardTusRun(cy, redis.pid, shape, k, 1, source);
    const top = await baselineRun(ceiling, shape, k, 'octet', source);
    const peer = await tusRun(tus, shape, k, source);
    ratios.tus.push(ours.e2eMiBps! / peer.e2eMiBps!);
    ratios.ceiling.push(ours.ingestMiBps / top.ingestMiBps);
    process.stdout.write(`rep ${rep + 1}\n  ${line('chunkyard tus', ours)}\n  ${line('ceiling', top)}\n  ${line('@tus/server', peer)}\n`);
  }
  process.stdout.write(`${shape.name} K=${k} fsync=${fsync}: e2e/@tus/server ${fmt(median(ratios.tus), 2)}×, ingest/ceiling ${fmt(median(ratios.ceiling) * 100, 0)} %\n`);
});
