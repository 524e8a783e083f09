/**
 * The ingest against its ceiling with the worker running (as `npm run bench` measures it)
 * and with the worker paused (SIGSTOP) while the chunks arrive, then resumed to merge: how
 * much of the gap is the worker's merges sharing the machine's two cores with the ingest.
 *
 *   node --import tsx bench/experiments/worker-paused.ts <files>x<MiB> <K> <multipart|octet> [reps=4]
 *
 * Each repetition: the ceiling (busboy or plain server, fdatasync), then Chunkyard with the
 * worker running, the ceiling again, Chunkyard with the worker paused; ratios per pair.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ChunkSource } from '../chunk-source.js';
import { runLoad, type BodyKind } from '../load-client.js';
import { baselineRun, filesOnDisk, nextRunId, settleDisk, type Shape } from '../phases.js';
import { onCleanup, prepareBuild, runScript } from '../processes.js';
import { startBenchRedis } from '../redis.js';
import { MiB, fmt, median } from '../stats.js';
import { startBaseline, startChunkyard } from '../systems.js';
const [shapeArg = '64x4', kArg = '8', bodyArg = 'octet', repsArg = '4'] = process.argv.slice(2);
const [files, sizeMiB] = shapeArg.split('x').map(Number) as [number, number];
const shape: Shape = { name: shapeArg, files, fileSize: sizeMiB * MiB, chunkSize: MiB };
const k = Number(kArg);
const body = bodyArg as BodyKind;

await runScript('worker-paused', async () => {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-bench-'));
  onCleanup(() => rm(scratch, { recursive: true, force: true }));
  const redis = await startBenchRedis();
  const build = await prepareBuild();
  const cy = await startChunkyard({ build, redisUrl: redis.url, prefix: 'cya', dataDir: path.join(scratch, 'cya'), fsync: true });
  onCleanup(() => cy.stop());
  await cy.startWorker();
  const ceiling = await startBaseline(build, body === 'multipart' ? 'busboy' : 'plain', path.join(scratch, 'ceiling'), { env: { FSYNC: '1' } });
  const source = new ChunkSource(MiB);
  const workerPid = cy.pids().worker!;

  /** Chunkyard's ingest rate, the worker paused while the chunks arrive when `paused`. */
  const ingestRate = async (paused: boolean): Promise<number> => {
    if (paused) process.kill(workerPid, 'SIGSTOP');
    let load;
    try {
      load = await runLoad({ urls: cy.urls, files, fileSize: shape.fileSize, chunkSize: MiB, concurrency: k, body, source, runId: nextRunId(paused ? 'paused' : 'running') });
    } finally {
      if (paused) process.kill(workerPid, 'SIGCONT');
    }
    const lines = await cy.waitMerged(load.completed.map((upload) => upload.uploadId));
    await filesOnDisk(cy).remove(lines);
    await settleDisk(cy.options.dataDir);
    return load.bytes / MiB / ((load.finishedAt - load.startedAt) / 1000);
  };

  const ratios = { running: [] as number[], paused: [] as number[] };
  for (let rep = 0; rep < Number(repsArg); rep++) {
    for (const mode of ['running', 'paused'] as const) {
      const top = await baselineRun(ceiling, shape, k, body, source);
      const ours = await ingestRate(mode === 'paused');
      ratios[mode].push(ours / top.ingestMiBps);
      process.stdout.write(`rep ${rep + 1}, worker ${mode}: ${fmt(ours)} MiB/s, ceiling ${fmt(top.ingestMiBps)} MiB/s\n`);
    }
  }
  process.stdout.write(`${shapeArg} K=${k} ${body}: ingest/ceiling, worker running ${fmt(median(ratios.running) * 100, 0)} %, paused ${fmt(median(ratios.paused) * 100, 0)} %\n`);
});
