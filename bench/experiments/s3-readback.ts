/**
 * The S3 bound for chunks of at least 5 MiB (issue 12): a server that writes each chunk
 * straight into the upload's multipart upload as a part still has to report the SHA-256 of
 * the published object, and chunks arrive out of order and on any instance, so no process
 * sees the bytes in order: the object is read back once after CompleteMultipartUpload.
 * This runs, on the bench's throwaway Ceph RGW, the direct multipart upload (the ceiling of
 * the S3 section) and the same upload followed by that read (K ranged GETs of 8 MiB in
 * flight, hashed in order), taking turns, and prints both and their ratio.
 *
 *   node --import tsx bench/experiments/s3-readback.ts [64x4|1x256] [K=8] [reps=3]
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ChunkSource } from '../chunk-source.js';
import { runLanes } from '../http-client.js';
import { runS3Multipart } from '../s3-multipart-client.js';
import { onCleanup, runScript } from '../processes.js';
import { startS3Store } from '../s3-store.js';
import { MiB, fmt, median } from '../stats.js';

const [shapeArg = '1x256', kArg = '8', repsArg = '3'] = process.argv.slice(2);
const [files, sizeMiB] = shapeArg.split('x').map(Number) as [number, number];
const fileSize = sizeMiB * MiB;
const k = Number(kArg);
const RANGE = 8 * MiB;

/** Reads every object back in ranges, K in flight over all of them, each object hashed in order. */
async function readBack(client: S3Client, bucket: string, keys: string[]): Promise<void> {
  const jobs = keys.flatMap((key) => Array.from({ length: Math.ceil(fileSize / RANGE) }, (_, i) => ({ key, start: i * RANGE })));
  const hashes = new Map(keys.map((key) => [key, { hash: createHash('sha256'), next: 0, waiting: new Map<number, Buffer>() }]));
  await runLanes(jobs.length, k, async (index) => {
    const { key, start } = jobs[index]!;
    const end = Math.min(start + RANGE, fileSize) - 1;
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end}` }));
    const bytes = Buffer.from(await out.Body!.transformToByteArray());
    const state = hashes.get(key)!;
    state.waiting.set(start, bytes);
    for (let piece = state.waiting.get(state.next); piece; piece = state.waiting.get(state.next)) {
      state.waiting.delete(state.next);
      state.hash.update(piece);
      state.next += piece.length;
    }
  });
  for (const [key, state] of hashes) if (state.next !== fileSize) throw new Error(`${key}: hashed ${state.next} bytes`);
}

await runScript('s3-readback', async () => {
  const store = await startS3Store();
  onCleanup(() => store.stop());
  const source = new ChunkSource(64 * 1024);
  const client = store.client(k);
  const rates = { direct: [] as number[], readback: [] as number[], ratio: [] as number[] };
  let run = 0;
  const once = async (withReadBack: boolean) => {
    const started = performance.now();
    const result = await runS3Multipart({ client, bucket: store.bucket, prefix: `rb/${run++}/`, files, fileSize, partSize: 5 * MiB, concurrency: k, source });
    if (withReadBack) await readBack(client, store.bucket, result.keys);
    const seconds = (performance.now() - started) / 1000;
    for (const key of result.keys) await store.sizeAndDelete(key);
    return (files * fileSize) / MiB / seconds;
  };
  for (let rep = 0; rep < Number(repsArg); rep++) {
    // A B B A: the store's state (its garbage collection) falls on both alike.
    const a1 = await once(false);
    const b1 = await once(true);
    const b2 = await once(true);
    const a2 = await once(false);
    rates.direct.push(a1, a2);
    rates.readback.push(b1, b2);
    rates.ratio.push(b1 / a1, b2 / a2);
    process.stdout.write(`rep ${rep + 1}: direct ${fmt(a1)} / ${fmt(a2)} MiB/s, direct + read back ${fmt(b1)} / ${fmt(b2)} MiB/s\n`);
  }
  process.stdout.write(`${shapeArg} K=${k}: direct ${fmt(median(rates.direct))} MiB/s, direct + read back ${fmt(median(rates.readback))} MiB/s, ratio ${fmt(median(rates.ratio) * 100, 0)} %\n`);
});
