/**
 * Drives an already running ingest with the benchmark's load client, for profiling by hand:
 *   node --import tsx bench/experiments/load-only.ts <url> <files>x<MiB> <K> <multipart|octet> [rounds=1]
 */
import { ChunkSource } from '../chunk-source.js';
import { runLoad, type BodyKind } from '../load-client.js';
import { MiB, fmt } from '../stats.js';

const [url = 'http://127.0.0.1:3000', shapeArg = '64x4', kArg = '8', bodyArg = 'octet', roundsArg = '1'] = process.argv.slice(2);
const [files, sizeMiB] = shapeArg.split('x').map(Number) as [number, number];
const source = new ChunkSource(MiB);
for (let round = 0; round < Number(roundsArg); round++) {
  const load = await runLoad({
    urls: [url], files, fileSize: sizeMiB * MiB, chunkSize: MiB, concurrency: Number(kArg), body: bodyArg as BodyKind, source,
    runId: `load-${process.pid}-${round}`,
  });
  const seconds = (load.finishedAt - load.startedAt) / 1000;
  process.stdout.write(`round ${round + 1}: ${fmt(load.bytes / MiB / seconds)} MiB/s, ${load.completed.length} uploads completed\n`);
}
