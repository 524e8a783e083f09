import type { Middleware } from 'koa';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface IngestMetrics {
  /** A piece (chunk, append) was received and stored or found stored. */
  pieceStored(outcome: string, bytes: number): void;
  middleware: Middleware;
}

export function createIngestMetrics(registry: Registry, gauges: { eventStreams: () => number }): IngestMetrics {
  const registers = [registry];
  const uploadResponses = new Counter({
    name: 'chunkyard_chunk_responses_total',
    help: 'Responses on the upload endpoints (/upload, /files), by method and status.',
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
  const piecesReceived = new Counter({
    name: 'chunkyard_chunks_received_total',
    help: 'Pieces (chunks, appends) received and stored, by outcome (stored, duplicate, completed, already_complete).',
    labelNames: ['outcome'],
    registers,
  });
  const bytesReceived = new Counter({ name: 'chunkyard_chunk_bytes_received_total', help: 'Bytes of pieces received and stored.', registers });
  const uploadsReceived = new Counter({
    name: 'chunkyard_uploads_received_total',
    help: 'Uploads whose last piece this instance received (their merge was queued).',
    registers,
  });
  new Gauge({
    name: 'chunkyard_event_streams',
    help: 'Server-sent event streams open on this instance.',
    registers,
    collect() {
      this.set(gauges.eventStreams());
    },
  });
  return {
    pieceStored(outcome, bytes) {
      piecesReceived.inc({ outcome });
      bytesReceived.inc(bytes);
      if (outcome === 'completed') uploadsReceived.inc();
    },
    middleware: async function measureRequests(ctx, next) {
      const stop = duration.startTimer();
      try {
        await next();
      } finally {
        // Rendered errors set ctx.status before this runs (errorHandler sits inside).
        const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? (ctx.path === '/upload' ? '/upload' : ctx.path.startsWith('/files') ? '/files' : 'unmatched');
        const status = String(ctx.status);
        stop({ method: ctx.method, route: String(route), status });
        if (route === '/upload' || route === '/files') uploadResponses.inc({ method: ctx.method, status });
      }
    },
  };
}
