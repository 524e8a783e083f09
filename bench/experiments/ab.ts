/**
 * A/B of a change to services/ (a patch) or to the services' node flags, in ONE run: both
 * builds run side by side (one Redis, two prefixes, two data folders) and take turns on the
 * same shape (A B B A ...), so the machine's noise falls on both alike; figures are per
 * repetition, and B/A ratios are taken within each repetition, then their median.
 *
 *   node --import tsx bench/experiments/ab.ts <patch.diff | -> <files>x<MiB> <K> <multipart|octet|tus> [reps=6]
 *   e.g. node --import tsx bench/experiments/ab.ts bench/experiments/early-merge-flush.diff 1x256 8 octet
 *        CHUNK_FSYNC=false node --import tsx bench/experiments/ab.ts ...
 *        AB_B_INGEST_NODE_ARGS='--initial-old-space-size=64' node --import tsx bench/experiments/ab.ts - 64x4 8 multipart
 *
 * `tus`: plain tus (one PATCH at a time per file) to the tus endpoint instead of resumable.js chunks.
 * A is services/ of the working tree (or BENCH_REF); B is A with the patch applied (`-`: none)
 * and AB_B_INGEST_NODE_ARGS / AB_B_WORKER_NODE_ARGS added to its processes' flags.
 * CHUNK_FSYNC (default true) applies to both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ChunkSource } from '../chunk-source.js';
import type { BodyKind } from '../load-client.js';
import { chunkyardRun, type RunSample, type Shape } from '../phases.js';
import { chunkyardTusRun } from '../phases-tus.js';
import { onCleanup, prepareBuild, runScript } from '../processes.js';
import { startBenchRedis } from '../redis.js';
import { MiB, fmt, median } from '../stats.js';
import { startChunkyard, type Chunkyard } from '../systems.js';

const [patchArg = '-', shapeArg = '1x256', kArg = '8', bodyArg = 'octet', repsArg = '6'] = process.argv.slice(2);
const [files, sizeMiB] = shapeArg.split('x').map(Number) as [number, number];
const shape: Shape = { name: shapeArg, files, fileSize: sizeMiB * MiB, chunkSize: MiB };
const k = Number(kArg);
const body = bodyArg as BodyKind | 'tus';
const reps = Number(repsArg);
const fsync = process.env.CHUNK_FSYNC !== 'false';
const args = (variable: string) => (process.env[variable] ?? '').split(/\s+/).filter(Boolean);

interface Figures {
  ingest: number;
  e2e: number;
  tailMs: number;
  written: number;
  ingestCpu: number;
  workerCpu: number;
}

function figures(s: RunSample): Figures {
  return {
    ingest: s.ingestMiBps,
    e2e: s.e2eMiBps!,
    tailMs: s.tails ? Math.max(...s.tails.map((t) => t.tailMs)) : s.runTail!.tailMs,
    written: ((s.writeBytes.ingest ?? 0) + (s.writeBytes.worker ?? 0)) / s.bytes,
    ingestCpu: s.cpu.ingest ?? Number.NaN,
    workerCpu: s.cpu.worker ?? Number.NaN,
  };
}

const line = (f: Figures) =>
  `ingest ${fmt(f.ingest)} MiB/s, e2e ${fmt(f.e2e)} MiB/s, tail ${fmt(f.tailMs, 0)} ms, written ${fmt(f.written, 4)}, CPU ingest ${fmt(f.ingestCpu, 2)} s worker ${fmt(f.workerCpu, 2)} s`;

await runScript('ab', async () => {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-ab-'));
  onCleanup(() => rm(scratch, { recursive: true, force: true }));
  const redis = await startBenchRedis();
  const buildA = await prepareBuild({ ref: process.env.BENCH_REF });
  const buildB = await prepareBuild({ ref: process.env.BENCH_REF, patch: patchArg === '-' ? undefined : patchArg });
  const a = await startChunkyard({ build: buildA, redisUrl: redis.url, prefix: 'aba', dataDir: path.join(scratch, 'a'), fsync });
  onCleanup(() => a.stop());
  const b = await startChunkyard({
    build: buildB, redisUrl: redis.url, prefix: 'abb', dataDir: path.join(scratch, 'b'), fsync,
    ingestNodeArgs: args('AB_B_INGEST_NODE_ARGS'), workerNodeArgs: args('AB_B_WORKER_NODE_ARGS'),
  });
  onCleanup(() => b.stop());
  await a.startWorker();
  await b.startWorker();
  const source = new ChunkSource(MiB);
  for (let i = 0; i < shape.files; i++) source.sha256(i, shape.fileSize);
  const run = (cy: Chunkyard) => (body === 'tus' ? chunkyardTusRun(cy, redis.pid, shape, k, 1, source) : chunkyardRun(cy, redis.pid, shape, k, body, source));
  // Warm both up (JIT, script cache) before anything is timed.
  await run(a);
  await run(b);

  const results: { a: Figures; b: Figures }[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    const sample: Partial<Record<'a' | 'b', Figures>> = {};
    for (const which of order) sample[which] = figures(await run(which === 'a' ? a : b));
    results.push(sample as { a: Figures; b: Figures });
    process.stdout.write(`rep ${rep + 1}\n  A: ${line(sample.a!)}\n  B: ${line(sample.b!)}\n`);
  }
  const keys: (keyof Figures)[] = ['ingest', 'e2e', 'tailMs', 'written', 'ingestCpu', 'workerCpu'];
  process.stdout.write(`\n${shape.name} K=${k} ${body} CHUNK_FSYNC=${fsync}, B = ${patchArg === '-' ? 'no patch' : path.basename(patchArg)}${process.env.AB_B_INGEST_NODE_ARGS ? `, ingest ${process.env.AB_B_INGEST_NODE_ARGS}` : ''}${process.env.AB_B_WORKER_NODE_ARGS ? `, worker ${process.env.AB_B_WORKER_NODE_ARGS}` : ''}\n`);
  process.stdout.write('| Figure | A (median) | B (median) | B / A (median of per-repetition ratios) |\n| --- | --: | --: | --: |\n');
  for (const key of keys) {
    const ma = median(results.map((r) => r.a[key]));
    const mb = median(results.map((r) => r.b[key]));
    const ratio = median(results.map((r) => r.b[key] / r.a[key]));
    const digits = key === 'written' ? 4 : key.endsWith('Cpu') ? 2 : 1;
    process.stdout.write(`| ${key} | ${fmt(ma, digits)} | ${fmt(mb, digits)} | ${fmt(ratio, 3)} |\n`);
  }
});
