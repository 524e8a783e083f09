/**
 * Server-sent event streams (text/event-stream), bounded so no client can exhaust the
 * instance: at most `perClient` streams per client and `total` in all (a 429 or 503
 * beyond), a stream whose client stops reading is ended once `maxBufferedBytes` wait for
 * it, one heartbeat timer for all streams, and every stream is released when its client
 * goes away, even while it is still being set up.
 */
import type { ServerResponse } from 'node:http';
import type { Context } from 'koa';
import { UploadError } from '../../core/errors.js';
import type { EventFilter, UploadEventHub } from './upload-event-hub.js';

export interface EventStreamLimits {
  perClient: number;
  total: number;
  /** Bytes that may wait for a slow reader before its stream is ended. */
  maxBufferedBytes: number;
  heartbeatMs: number;
}

interface OpenStream {
  res: ServerResponse;
  client: string;
  /** Headers sent; events may be written. */
  started: boolean;
  close: () => void;
}

export class EventStreams {
  private readonly open = new Set<OpenStream>();
  private readonly perClient = new Map<string, number>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: UploadEventHub,
    private readonly limits: EventStreamLimits,
  ) {}

  get count(): number {
    return this.open.size;
  }

  /**
   * Takes a slot for `client` before anything is awaited, and gives it back when the
   * client leaves: call `start` once the stream may begin, or `release` if it may not.
   */
  reserve(ctx: Context, client: string): { start: (filter: EventFilter, first?: { event: string; data: unknown }) => void; release: () => void } {
    if (this.open.size >= this.limits.total) throw new UploadError('service_unavailable', 'Too many event streams on this instance; retry');
    if ((this.perClient.get(client) ?? 0) >= this.limits.perClient) {
      throw new UploadError('too_many_requests', `At most ${this.limits.perClient} event streams per client`);
    }
    let unsubscribe: (() => void) | undefined;
    let closed = false;
    const stream: OpenStream = {
      res: ctx.res,
      client,
      started: false,
      close: () => {
        if (closed) return;
        closed = true;
        unsubscribe?.();
        this.open.delete(stream);
        const left = (this.perClient.get(client) ?? 1) - 1;
        if (left > 0) this.perClient.set(client, left);
        else this.perClient.delete(client);
        if (this.open.size === 0) this.stopHeartbeat();
        if (stream.started && !ctx.res.writableEnded) ctx.res.end();
      },
    };
    this.open.add(stream);
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
    // Registered first: a client that leaves while the stream is being set up releases it too.
    ctx.req.once('close', stream.close);

    const start = (filter: EventFilter, first?: { event: string; data: unknown }) => {
      if (closed || ctx.req.destroyed) return stream.close();
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.respond = false;
      stream.started = true;
      ctx.res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
        ...Object.fromEntries(Object.entries(ctx.response.headers).map(([k, v]) => [k, String(v)])),
      });
      // `retry` tells EventSource how soon to reconnect.
      this.write(stream, 'retry: 2000\n\n');
      if (first) this.write(stream, `event: ${first.event}\ndata: ${JSON.stringify(first.data)}\n\n`);
      unsubscribe = this.hub.listen(filter, (_event, text) => this.write(stream, text()));
      this.startHeartbeat();
    };
    return { start, release: stream.close };
  }

  /** Ends every stream (at shutdown, so the HTTP server can close). */
  closeAll(): void {
    for (const stream of [...this.open]) stream.close();
  }

  private write(stream: OpenStream, text: string): void {
    if (!stream.started || stream.res.writableEnded) return;
    stream.res.write(text);
    // A client that does not read must not make this process hold its events in memory:
    // its connection is dropped, and what waited for it freed at once.
    if (stream.res.writableLength > this.limits.maxBufferedBytes) {
      stream.close();
      stream.res.destroy();
    }
  }

  private startHeartbeat(): void {
    // A comment line now and then keeps proxies from closing idle streams.
    this.heartbeat ??= setInterval(() => {
      for (const stream of this.open) this.write(stream, ': keep-alive\n\n');
    }, this.limits.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
