/**
 * Chunkyard's tus endpoint (issue 13), end to end: the tus client (tus-client.ts: plain
 * single uploads, or tus-js-client's parallelUploads with concatenation) against the
 * ingest's TUS_PATH, then every file's final upload merged by the worker and verified as
 * the resumable.js runs are. The baseline is @tus/server (phases.ts `tusRun`), which does
 * not offer concatenation: a tus-js-client with parallelUploads > 1 cannot use it, so both
 * Chunkyard runs are compared with its plain single-upload run of the same shape and K.
 */
import type { ChunkSource } from './chunk-source.js';
import { filesOnDisk, settleDisk, usageOf, verifyMerged, type RunSample, type Shape } from './phases.js';
import { ProcessMonitor } from './process-stats.js';
import { loadFigures } from './stats.js';
import type { Chunkyard } from './systems.js';
import { runTus } from './tus-client.js';

/** Chunkyard's default TUS_PATH. */
const TUS_PATH = '/files/';

export async function chunkyardTusRun(cy: Chunkyard, redisPid: number, shape: Shape, concurrency: number, parallelUploads: number, source: ChunkSource): Promise<RunSample> {
  const monitor = new ProcessMonitor({ ...cy.pids(), redis: redisPid });
  // One ingest: a tus upload's requests go where it was created (no round robin here).
  const result = await runTus({ url: cy.urls[0]!, path: TUS_PATH, files: shape.files, fileSize: shape.fileSize, chunkSize: shape.chunkSize, concurrency, source, parallelUploads });
  const fileOf = new Map(result.ids.map((id, fileIndex) => [id, fileIndex]));
  const lines = await cy.waitMerged(result.ids);
  const published = filesOnDisk(cy);
  await verifyMerged(published, shape, source, lines, fileOf);
  const end = performance.now();
  const usage = monitor.stop();
  await published.remove(lines);
  await settleDisk(cy.options.dataDir);
  return {
    ...loadFigures(result, end),
    ...usageOf(usage),
    runTail: { tailMs: Math.max(...lines.map((line) => line.time)) - (performance.timeOrigin + result.finishedAt), uploadMs: result.finishedAt - result.startedAt },
  };
}
