/**
 * Slow clients cannot pin the server: a connection that dribbles its headers, trickles
 * its body or stalls mid-body is closed after the configured timeouts, nothing of it is
 * counted (what it wrote goes with the sweep), a normal upload goes through while fifty of
 * them hang on, and one client cannot hold more than its share of requests.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, uploadFile } from '../helpers/upload-client.js';

let sys: TestSystem;
let port: number;
before(async () => {
  sys = await startSystem({ env: { HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000', IDLE_TIMEOUT_MS: '1500' } });
  port = Number(new URL(sys.urls[0]!).port);
});
after(() => sys?.stop());

const query = new URLSearchParams({
  resumableChunkNumber: '1', resumableChunkSize: '1024', resumableCurrentChunkSize: '1024', resumableTotalSize: '1024',
  resumableIdentifier: 'slow', resumableFilename: 'slow.bin',
});

interface SlowClient {
  closedAfterMs: Promise<number>;
  received: () => string;
  stop: () => void;
}

/** Opens a connection, sends `start`, then one byte of `drip` every `everyMs` (none if empty). */
function slowClient(start: string, drip: string, everyMs = 200): SlowClient {
  const socket = net.connect(port, '127.0.0.1');
  const opened = Date.now();
  let received = '';
  let timer: NodeJS.Timeout | undefined;
  socket.on('data', (d) => (received += d.toString()));
  socket.on('error', () => undefined);
  socket.once('connect', () => {
    socket.write(start);
    let i = 0;
    if (drip) timer = setInterval(() => socket.write(drip[i++ % drip.length]!), everyMs);
  });
  const closedAfterMs = new Promise<number>((resolve) => socket.once('close', () => {
    clearInterval(timer);
    resolve(Date.now() - opened);
  }));
  return { closedAfterMs, received: () => received, stop: () => socket.destroy() };
}

const rawHead = `POST /upload?${query} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n`;

test('headers sent a byte at a time: closed after the headers timeout', async () => {
  const client = slowClient('POST /upload HTTP/1.1\r\nHost: x\r\n', 'X-Slow: loris\r\n');
  const ms = await client.closedAfterMs;
  console.log(`slowloris headers: closed after ${ms} ms (HEADERS_TIMEOUT_MS=1000)`);
  assert.ok(ms < 5_000, `closed after ${ms} ms`);
});

test('a body trickled a byte at a time: 408 after the request timeout, and its temp file removed', async () => {
  const client = slowClient(rawHead, 'x');
  const ms = await client.closedAfterMs;
  console.log(`trickled body: closed after ${ms} ms (REQUEST_TIMEOUT_MS=2000)`);
  assert.ok(ms < 6_000, `closed after ${ms} ms`);
  assert.match(client.received(), /^HTTP\/1\.1 408/);
  assert.equal(await sys.readUpload('slow'), undefined, 'nothing counted');
  await sys.sweep();
  assert.deepEqual(await sys.unownedDataFiles(), [], 'what it wrote went with the sweep');
});

test('a body that stalls half way: closed after the idle timeout, and its temp file removed', async () => {
  const client = slowClient(rawHead + 'x'.repeat(512), '');
  const ms = await client.closedAfterMs;
  console.log(`stalled body: closed after ${ms} ms (IDLE_TIMEOUT_MS=1500)`);
  assert.ok(ms < 6_000, `closed after ${ms} ms`);
  assert.equal(await sys.readUpload('slow'), undefined, 'nothing counted');
  await sys.sweep();
  assert.deepEqual(await sys.unownedDataFiles(), [], 'what it wrote went with the sweep');
});

test('fifty slow clients do not stop a normal upload', async () => {
  const clients = Array.from({ length: 50 }, (_, i) => slowClient(i % 2 ? rawHead : 'POST /upload HTTP/1.1\r\n', 'x', 300));
  const responses = await uploadFile(randomFile(100_000), { urls: sys.urls, identifier: 'beside-the-slow', chunkSize: 10_000, concurrency: 3 });
  assert.ok(responses.every((r) => r.status === 200));
  await sys.waitForState('beside-the-slow', ['queued']);
  for (const client of clients) client.stop();
});

test('one client may hold only MAX_REQUESTS_PER_CLIENT requests at once; others are not affected', async () => {
  const limited = await startSystem({ env: { TRUST_PROXY: 'true', MAX_REQUESTS_PER_CLIENT: '4', REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '1000' } });
  try {
    const limitedPort = Number(new URL(limited.urls[0]!).port);
    const held: net.Socket[] = [];
    // Four bodies that never finish, from one client (as the proxy in front says).
    for (let i = 0; i < 4; i++) {
      const socket = net.connect(limitedPort, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(rawHead.replace('Host: x\r\n', `Host: x\r\nX-Forwarded-For: 203.0.113.7\r\n`) + 'x'.repeat(10));
      held.push(socket);
    }
    const sameClient = async () => fetch(`${limited.urls[0]}/uploads/anything`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    const refused = await eventually(sameClient, { accept: (response) => response.status === 503, what: 'the fifth request refused' });
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'service_unavailable');
    const other = await fetch(`${limited.urls[0]}/uploads/anything`, { headers: { 'x-forwarded-for': '198.51.100.9' } });
    assert.equal(other.status, 404, 'another client is served');
    for (const socket of held) socket.destroy();
    await eventually(sameClient, { accept: (response) => response.status === 404, what: 'the slots given back' });
  } finally {
    await limited.stop();
  }
});
