/**
 * Only the "merge against cat + fsync" phase of the benchmark, repeated: to recheck that
 * ratio (it rests on the disk, which other work on the machine shares) without the rest.
 *
 *   BENCH_REF=HEAD node --import tsx bench/experiments/merge-vs-cat.ts [reps=5]
 *
 * Same services build, shapes and procedure as `npm run bench` (BENCH_SIZE=full shapes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MERGE_QUEUE } from '../../services/shared/merge-job.js';
import { queuePrefix } from '../../services/shared/upload-key.js';
import { startRedisServer } from '../../test/helpers/redis-server.js';
import { ChunkSource } from '../chunk-source.js';
import { mergeRun, type Shape } from '../phases.js';
import { onCleanup, prepareBuild, runScript } from '../processes.js';
import { MiB, fmt, median } from '../stats.js';
import { startChunkyard } from '../systems.js';

const reps = Number(process.argv[2] ?? 5);
const shapes: Shape[] = [
  { name: '1×256 MiB', files: 1, fileSize: 256 * MiB, chunkSize: MiB },
  { name: '64×4 MiB', files: 64, fileSize: 4 * MiB, chunkSize: MiB },
];

await runScript('merge-vs-cat', async () => {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-bench-'));
  onCleanup(() => rm(scratch, { recursive: true, force: true }));
  const redis = await startRedisServer();
  onCleanup(() => redis.stop());
  const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  onCleanup(async () => admin.disconnect());
  const redisPid = Number(/process_id:(\d+)/.exec(await admin.info('server'))![1]);
  const build = await prepareBuild();
  const cy = await startChunkyard({ build, redisUrl: redis.url, prefix: 'cya', dataDir: path.join(scratch, 'cya'), fsync: true });
  onCleanup(() => cy.stop());
  await cy.startWorker();
  const queue = new Queue(MERGE_QUEUE, { connection: admin, prefix: queuePrefix('cya') });
  onCleanup(() => queue.close());
  const source = new ChunkSource(MiB);
  for (const shape of shapes) for (let i = 0; i < shape.files; i++) source.sha256(i, shape.fileSize);
  for (const shape of shapes) {
    const ratios: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const s = await mergeRun(cy, queue, redisPid, shape, source, scratch, 2);
      ratios.push(s.catSeconds / s.mergeSeconds);
      const mib = s.bytes / MiB;
      process.stdout.write(`${shape.name} rep ${rep + 1}: merge ${fmt(s.mergeSeconds, 2)} s (${fmt(mib / s.mergeSeconds)} MiB/s), cat+sync ${fmt(s.catSeconds, 2)} s (${fmt(mib / s.catSeconds)} MiB/s), merge/cat ${fmt((s.catSeconds / s.mergeSeconds) * 100, 0)} %\n`);
    }
    process.stdout.write(`${shape.name}: median merge/cat ${fmt(median(ratios) * 100, 0)} %\n`);
  }
});
