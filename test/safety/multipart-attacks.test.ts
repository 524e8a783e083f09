/**
 * Multipart bodies built to hurt the server, each answered with a 4xx while the instance
 * keeps serving everyone else:
 * - a part header that never ends, sent with `Transfer-Encoding: chunked` (no length to
 *   check up front): cut off at busboy's 16 KiB header limit, not buffered until the
 *   process runs out of memory;
 * - a part header of `filename="` repeated (a quadratic regex took minutes on such input
 *   in the parser before): parsed in linear time and refused;
 * - thousands of file parts: refused at the second one, nothing written.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, uploadFile } from '../helpers/upload-client.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem();
});
after(() => sys?.stop());

const boundary = 'attackboundary';
const fields = new URLSearchParams({
  resumableChunkNumber: '1', resumableChunkSize: '1024', resumableCurrentChunkSize: '1024', resumableTotalSize: '1024',
  resumableIdentifier: 'attack', resumableFilename: 'a.bin',
});

/** Streams `pieces()` as a chunked multipart body, then reads the answer. */
function attack(pieces: () => Generator<Buffer>): Promise<{ status: number; body: string; sentBytes: number; sentAtAnswer: number }> {
  const url = new URL(sys.urls[0]!);
  return new Promise((resolve, reject) => {
    let sentBytes = 0;
    const request = http.request({
      host: url.hostname, port: url.port, method: 'POST', path: `/upload?${fields}`,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
    }, (response) => {
      const sentAtAnswer = sentBytes;
      let body = '';
      response.on('data', (d: Buffer) => (body += d.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, sentBytes, sentAtAnswer }));
    });
    request.on('error', (err) => reject(err));
    const source = pieces();
    const pump = () => {
      for (let next = source.next(); !next.done; next = source.next()) {
        sentBytes += next.value.length;
        if (!request.write(next.value)) return void request.once('drain', pump);
      }
      request.end();
    };
    pump();
  });
}

/** A normal upload, while an attack runs: the event loop must still serve it. */
async function meanwhile(): Promise<void> {
  const responses = await uploadFile(randomFile(64 * 1024), { urls: sys.urls, identifier: `meanwhile-${Math.random()}`, chunkSize: 16 * 1024 });
  assert.ok(responses.every((r) => r.status === 200), 'a normal upload goes through during the attack');
}

test('a part header that never ends, in a chunked body: 400, cut off early, the instance unhurt', async () => {
  const huge = 64 * 1024 * 1024;
  const [answer] = await Promise.all([
    attack(function* () {
      yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\nX-Pad: `);
      const filler = Buffer.alloc(64 * 1024, 'a');
      for (let sent = 0; sent < huge; sent += filler.length) yield filler;
    }).catch((err: Error) => ({ status: 0, body: err.message, sentBytes: -1, sentAtAnswer: -1 })),
    meanwhile(),
  ]);
  // The server answers 400 long before the 64 MiB are sent: it never buffers the header.
  assert.equal(answer.status, 400, answer.body);
  assert.equal(JSON.parse(answer.body).error.code, 'malformed_body');
  console.log(`endless part header: answered 400 after ${answer.sentAtAnswer} of ${huge} bytes`);
  assert.ok(answer.sentAtAnswer < huge / 2, `answered after ${answer.sentAtAnswer} bytes`);
  assert.equal(await sys.readUpload('attack'), undefined, 'nothing counted');
  assert.deepEqual(await sys.unownedDataFiles(), [], 'no data file: the header never ended, so no file part began');
});

test('a part header of `filename="` repeated (1.3 MB): refused in linear time, the instance unhurt', async () => {
  const [answer] = await Promise.all([
    attack(function* () {
      yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; ${'filename="'.repeat(130_000)}\r\n\r\n`);
      yield Buffer.alloc(1024);
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    }).catch((err: Error) => ({ status: 0, body: err.message, sentBytes: -1, sentAtAnswer: -1 })),
    meanwhile(),
  ]);
  if (answer.status !== 0) assert.equal(answer.status, 400, answer.body);
  assert.equal(await sys.readUpload('attack'), undefined, 'nothing counted');
});

test('five thousand file parts: refused at the second, nothing counted', async () => {
  const answer = await attack(function* () {
    for (let i = 0; i < 5000; i++) {
      yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="other${i}"; filename="x${i}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
      yield Buffer.alloc(1024);
      yield Buffer.from('\r\n');
    }
    yield Buffer.from(`--${boundary}--\r\n`);
  }).catch((err: Error) => ({ status: 0, body: err.message, sentBytes: -1, sentAtAnswer: -1 }));
  if (answer.status !== 0) {
    assert.equal(answer.status, 400, answer.body);
    assert.equal(JSON.parse(answer.body).error.code, 'malformed_body');
  }
  assert.equal(await sys.readUpload('attack'), undefined, 'nothing counted');
  await sys.sweep();
  assert.deepEqual(await sys.unownedDataFiles(), [], 'at most one part was written, and it goes with the sweep');
});
