/**
 * Out of file descriptors: a running ingest given a small descriptor limit (`prlimit`,
 * once it is ready) and flooded with idle connections. With MAX_CONNECTIONS below the
 * limit the flood is refused at the door and uploads go on; set above it (a
 * misconfiguration), a chunk whose file cannot be opened gets 503, which clients retry,
 * never a 500 that would stop them.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { freePort } from '../helpers/redis-server.js';
import { killAll, limitFileDescriptors, startService } from '../helpers/processes.js';
import { startSystem, type TestSystem } from '../helpers/system.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem({ ingestInstances: 0 });
});
after(async () => {
  killAll();
  await sys?.stop();
});

const FD_LIMIT = 96;

/** A chunk POST written by hand on an open connection; resolves with the status line's code. */
function postChunk(socket: net.Socket, identifier: string): Promise<number> {
  const query = new URLSearchParams({
    resumableChunkNumber: '1', resumableChunkSize: '1024', resumableCurrentChunkSize: '1024', resumableTotalSize: '2048',
    resumableIdentifier: identifier, resumableFilename: 'fd.bin',
  });
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', function onData(data: Buffer) {
      text += data.toString();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (status) {
        socket.off('data', onData);
        resolve(Number(status));
      }
    });
    socket.once('error', reject);
    socket.write(`POST /upload?${query} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n`);
    socket.write(Buffer.alloc(1024));
  });
}

async function connect(port: number): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => resolve(undefined));
  });
}

async function floodAndPost(maxConnections: number): Promise<{ status: number; refused: number }> {
  const port = await freePort();
  const ingest = startService('ingest', { REDIS_URL: sys.redisServer.url, DATA_DIR: sys.config.dataDir, PORT: String(port), HOST: '127.0.0.1', MAX_CONNECTIONS: String(maxConnections) });
  await ingest.waitForLog('ingest listening');
  await limitFileDescriptors(ingest, FD_LIMIT);
  const probe = (await connect(port))!;
  const flood: net.Socket[] = [];
  let refused = 0;
  // Connect until the server starts turning connections away: it is at its limit then
  // (of connections, or of file descriptors).
  let refusedInARow = 0;
  for (let i = 0; i < FD_LIMIT * 3 && refusedInARow < 3; i++) {
    const socket = await connect(port);
    // A connection the server kept answers a request (and stays open, kept alive); one it
    // turned away is closed without an answer.
    const turnedAway = !socket || (await new Promise<boolean>((resolve) => {
      socket.on('error', () => undefined);
      socket.once('data', () => resolve(false));
      socket.once('close', () => resolve(true));
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    }));
    if (turnedAway) {
      refused++;
      refusedInARow++;
    } else {
      refusedInARow = 0;
      flood.push(socket!);
    }
  }
  const status = await postChunk(probe, `fd-${maxConnections}`);
  for (const socket of [probe, ...flood]) socket.destroy();
  await ingest.kill('SIGTERM');
  return { status, refused };
}

test('MAX_CONNECTIONS below the descriptor limit: the flood is refused, uploads go on', async () => {
  const { status, refused } = await floodAndPost(40);
  console.log(`connection cap: ${refused} flood connections refused; the chunk got ${status}`);
  assert.equal(status, 200);
  assert.ok(refused > 0, 'connections over the cap were refused');
});

test('out of descriptors all the same: 503 (clients retry), never 500', async () => {
  const { status } = await floodAndPost(10_000);
  assert.equal(status, 503);
});
