import { Counter, Histogram, type Registry } from 'prom-client';

export interface WorkerMetrics {
  merged(bytes: number, seconds: number): void;
  failed(): void;
}

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const registers = [registry];
  const uploadsMerged = new Counter({ name: 'chunkyard_uploads_completed_total', help: 'Uploads merged and published.', registers });
  const uploadsFailed = new Counter({ name: 'chunkyard_uploads_failed_total', help: 'Uploads whose merge failed for good.', registers });
  const mergeBytes = new Counter({ name: 'chunkyard_merge_bytes_total', help: 'Bytes written by merges.', registers });
  const mergeDuration = new Histogram({
    name: 'chunkyard_merge_duration_seconds',
    help: 'Time to merge, verify and publish one upload.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  return {
    merged(bytes, seconds) {
      uploadsMerged.inc();
      mergeBytes.inc(bytes);
      mergeDuration.observe(seconds);
    },
    failed() {
      uploadsFailed.inc();
    },
  };
}
