/**
 * Server-sent event streams cannot exhaust an ingest:
 * - at most EVENT_STREAMS_PER_CLIENT per client (429 beyond) and EVENT_STREAMS_MAX in all
 *   (503 beyond); a closed stream gives its slot back;
 * - a client that leaves while its stream is being set up gives its slot back too;
 * - a client that stops reading is dropped once 256 KiB wait for it, instead of the
 *   instance holding every event for it in memory.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { uploadKeyHash } from '../../services/core/keys.js';
import { eventually } from '../helpers/eventually.js';
import { openSse, type SseClient } from '../helpers/sse.js';
import { startSystem, type TestSystem } from '../helpers/system.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem({ env: { TRUST_PROXY: 'true', EVENT_STREAMS_PER_CLIENT: '3', EVENT_STREAMS_MAX: '5', ADMIN_PASSWORD: 'event-streams-test-password' } });
});
after(() => sys?.stop());

const from = (client: string) => ({ 'x-forwarded-for': client });

const ADMIN = `Basic ${Buffer.from('admin:event-streams-test-password').toString('base64')}`;

/** Streams open on the instance, from its own metrics. */
async function openStreams(): Promise<number> {
  const text = await (await fetch(`${sys.opsUrls[0]}/metrics`, { headers: { authorization: ADMIN } })).text();
  return Number(/^chunkyard_event_streams\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
}

test('per client and in all, streams are capped; a closed stream gives its slot back', async () => {
  const mine: SseClient[] = [];
  for (let i = 0; i < 3; i++) mine.push(await openSse(`${sys.urls[0]}/uploads/u${i}/events`, from('203.0.113.1')));
  const fourth = await fetch(`${sys.urls[0]}/uploads/u4/events`, { headers: from('203.0.113.1') });
  assert.equal(fourth.status, 429);
  assert.equal(((await fourth.json()) as { error: { code: string } }).error.code, 'too_many_requests');

  const others = [await openSse(`${sys.urls[0]}/uploads/v1/events`, from('198.51.100.2')), await openSse(`${sys.urls[0]}/uploads/v2/events`, from('198.51.100.3'))];
  const sixth = await fetch(`${sys.urls[0]}/uploads/v3/events`, { headers: from('198.51.100.4') });
  assert.equal(sixth.status, 503, 'the instance-wide limit');

  mine[0]!.close();
  await eventually(async () => (await openStreams()) === 4, { what: 'the closed stream released' });
  const again = await openSse(`${sys.urls[0]}/uploads/u5/events`, from('203.0.113.1'));
  for (const stream of [...mine.slice(1), ...others, again]) stream.close();
  await eventually(async () => (await openStreams()) === 0, { what: 'every stream released' });
});

test('clients that leave while their stream is being set up give their slots back', async () => {
  for (let i = 0; i < 30; i++) {
    const abort = new AbortController();
    const pending = fetch(`${sys.urls[0]}/uploads/gone-${i}/events`, { headers: from('203.0.113.9'), signal: abort.signal }).catch(() => undefined);
    abort.abort();
    await pending;
  }
  await eventually(async () => (await openStreams()) === 0, { what: 'no stream left behind' });
  const stream = await openSse(`${sys.urls[0]}/uploads/still-fine/events`, from('203.0.113.9'));
  stream.close();
});

test('a client that stops reading is dropped, not buffered for', async () => {
  const identifier = 'never-read';
  const socket = net.connect(Number(new URL(sys.urls[0]!).port), '127.0.0.1');
  socket.on('error', () => undefined);
  let closedByServer = false;
  socket.on('close', () => (closedByServer = true));
  socket.write(`GET /uploads/${identifier}/events HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 192.0.2.5\r\n\r\n`);
  await eventually(async () => (await openStreams()) === 1, { what: 'the stream open' });
  socket.pause(); // reads nothing from here on

  // Events of that upload, 8 KiB each, far more than socket buffers hold.
  const keyHash = uploadKeyHash(sys.config.UPLOAD_NAMESPACE, identifier);
  const padding = 'x'.repeat(8 * 1024);
  let published = 0;
  await eventually(async () => {
    const pipeline = sys.redis.pipeline();
    for (let i = 0; i < 500; i++) {
      pipeline.publish(sys.state.eventsChannel, JSON.stringify({ type: 'chunk', scope: sys.config.UPLOAD_NAMESPACE, keyHash, identifier, uploadId: 'u', received: published++, error: padding }));
    }
    await pipeline.exec();
    return (await openStreams()) === 0;
  }, { what: 'the slow reader dropped' });
  console.log(`slow reader: dropped after ${published} events (${Math.round((published * padding.length) / 1024 / 1024)} MiB) were sent its way`);
  socket.resume();
  await eventually(() => closedByServer, { what: 'the server closed the connection' });
  socket.destroy();
});
