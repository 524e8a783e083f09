import { Counter, Histogram, type Registry } from 'prom-client';

export interface WorkerMetrics {
  merged(bytes: number, seconds: number): void;
  earlyMerge(end: 'merged' | 'parked'): void;
  failed(): void;
}

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const registers = [registry];
  const uploadsMerged = new Counter({ name: 'chunkyard_uploads_completed_total', help: 'Uploads merged and published.', registers });
  const uploadsFailed = new Counter({ name: 'chunkyard_uploads_failed_total', help: 'Uploads whose merge failed for good.', registers });
  const mergeBytes = new Counter({ name: 'chunkyard_merge_bytes_total', help: 'Bytes written by merges.', registers });
  const earlyMerges = new Counter({
    name: 'chunkyard_early_merges_total',
    help: 'Merges started with an upload\'s first chunk, by how they ended: merged, or parked (slot given back; merged once complete).',
    labelNames: ['end'],
    registers,
  });
  const mergeDuration = new Histogram({
    name: 'chunkyard_merge_duration_seconds',
    help: 'Time from an upload\'s completion (its last chunk stored) to its merged file published.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  return {
    merged(bytes, seconds) {
      uploadsMerged.inc();
      mergeBytes.inc(bytes);
      mergeDuration.observe(seconds);
    },
    earlyMerge(end) {
      earlyMerges.inc({ end });
    },
    failed() {
      uploadsFailed.inc();
    },
  };
}
