import type { Middleware } from 'koa';
import { Counter, Histogram, type Registry } from 'prom-client';

export interface IngestMetrics {
  chunksReceived: Counter<'outcome'>;
  chunkBytesReceived: Counter;
  uploadsReceived: Counter;
  middleware: Middleware;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry];
  const chunkResponses = new Counter({
    name: 'chunkyard_chunk_responses_total',
    help: 'Responses to chunk requests (GET test, POST, PUT /upload), by method and status.',
    labelNames: ['method', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: 'chunkyard_http_request_duration_seconds',
    help: 'HTTP request latency, by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  return {
    chunksReceived: new Counter({
      name: 'chunkyard_chunks_received_total',
      help: 'Chunk bodies received and stored, by outcome (stored, duplicate, completed, already_complete).',
      labelNames: ['outcome'],
      registers,
    }),
    chunkBytesReceived: new Counter({
      name: 'chunkyard_chunk_bytes_received_total',
      help: 'Bytes of chunk bodies received and placed on disk.',
      registers,
    }),
    uploadsReceived: new Counter({
      name: 'chunkyard_uploads_received_total',
      help: 'Uploads whose last chunk this instance received (their merge was queued).',
      registers,
    }),
    middleware: async function measureRequests(ctx, next) {
      const stop = duration.startTimer();
      try {
        await next();
      } finally {
        // Rendered errors set ctx.status before this runs (errorHandler sits inside).
        const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
        const status = String(ctx.status);
        stop({ method: ctx.method, route: String(route), status });
        if (route === '/upload') chunkResponses.inc({ method: ctx.method, status });
      }
    },
  };
}
