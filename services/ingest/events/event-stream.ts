/**
 * Server-sent events on a Koa context (text/event-stream), closed when the client goes
 * away or the hub closes, with a comment line every 15 s so proxies keep it open.
 */
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { publicEvent, type UploadEvent } from '../../shared/upload-events.js';
import type { EventFilter, UploadEventHub } from './upload-event-hub.js';

const HEARTBEAT_MS = 15_000;

export function openEventStream(ctx: Context, hub: UploadEventHub, filter: EventFilter, first?: { event: string; data: unknown }): void {
  const stream = new PassThrough();
  const write = (event: string, data: unknown) => stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
  ctx.status = 200;
  ctx.body = stream;
  // Something must be written for the response headers to go out; `retry` also tells
  // EventSource how soon to reconnect.
  stream.write('retry: 2000\n\n');
  if (first) write(first.event, first.data);

  const heartbeat = setInterval(() => stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const close = () => {
    clearInterval(heartbeat);
    unsubscribe();
    stream.end();
  };
  const unsubscribe = hub.listen(filter, (event: UploadEvent) => write(event.type, publicEvent(event)), close);
  ctx.req.once('close', close);
}
