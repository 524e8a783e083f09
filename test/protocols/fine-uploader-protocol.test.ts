/**
 * Fine Uploader 5.16 (core build, traditional endpoint, `chunking.enabled`,
 * `chunking.concurrent.enabled`, `chunking.success.endpoint` on the same `/upload`) over raw
 * HTTP, request by request as docs/protocols/fine-uploader.md records them, against two
 * ingest instances and a worker: 0-based chunks sent concurrently and twice across the
 * instances, the nominal chunk size worked out and held to (offsets, totals), the finalising
 * request before and after the last chunk, whole files, the error JSON (`preventRetry`,
 * `reset`), and hostile values in every field: a 4xx, never a 5xx, nothing outside the data
 * directory. Every published file is compared byte for byte and merged once.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { uploadKeys } from '../../services/state/redis-keys.js';
import { eventually } from '../helpers/eventually.js';
import { startSystem, type TestSystem, type UploadView } from '../helpers/system.js';
import { randomFile, sha256 } from '../helpers/upload-client.js';

/** Fine Uploader's default chunking.partSize (decimal). */
const PART = 2_000_000;
let sys: TestSystem;
let counter = 0;

before(async () => {
  sys = await startSystem({ worker: true, ingestInstances: 2, env: { MAX_FILE_SIZE: '64MB', MAX_CHUNK_SIZE: '8MB' } });
});
after(() => sys?.stop());

const endpoint = (instance = 0) => `${sys.urls[instance]}/upload`;
/** Fine Uploader's qquuid: a random UUID v4 per file. */
const newUuid = () => crypto.randomUUID();

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/, `JSON, always: ${text.slice(0, 200)}`);
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, headers: response.headers };
}

/** The fields of chunk `index`, in the order Fine Uploader sends them. */
function chunkFields(file: Buffer, index: number, uuid: string, name: string, partSize = PART): Record<string, string> {
  const start = index * partSize;
  return {
    qqpartindex: String(index),
    qqpartbyteoffset: String(start),
    qqchunksize: String(Math.min(partSize, file.length - start)),
    qqtotalparts: String(Math.ceil(file.length / partSize)),
    qqtotalfilesize: String(file.length),
    qqfilename: name,
    qquuid: uuid,
  };
}

function sliceOf(file: Buffer, index: number, partSize = PART): Buffer {
  return file.subarray(index * partSize, (index + 1) * partSize);
}

/** A multipart request: the fields, then the file part `qqfile` (a chunk's is named `blob`). */
async function send(fields: Record<string, string>, bytes: Uint8Array, options: { instance?: number; filename?: string; type?: string } = {}): Promise<Answer> {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  form.append('qqfile', new Blob([bytes], { type: options.type ?? 'application/octet-stream' }), options.filename ?? 'blob');
  return answer(await fetch(endpoint(options.instance), { method: 'POST', headers: { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' }, body: form }));
}

const sendChunk = (file: Buffer, index: number, uuid: string, name: string, instance = 0, overrides: Record<string, string> = {}) =>
  send({ ...chunkFields(file, index, uuid, name), ...overrides }, sliceOf(file, index), { instance });

/** The finalising request: a form POST with the file's uuid, name, size and chunk count. */
async function finalise(uuid: string, name: string, size: number, parts: number, instance = 0): Promise<Answer> {
  const body = new URLSearchParams({ qquuid: uuid, qqfilename: name, qqtotalfilesize: String(size), qqtotalparts: String(parts) });
  return answer(await fetch(endpoint(instance), { method: 'POST', headers: { accept: 'application/json' }, body }));
}

const SUCCESS = { success: true };

function assertRefused(reply: Answer, status: number, flags: { preventRetry: boolean; reset: boolean }, what = '') {
  assert.equal(reply.status, status, `${what} ${JSON.stringify(reply.body)}`);
  assert.equal(reply.body.success, false, what);
  assert.equal(typeof reply.body.error, 'string', what);
  assert.equal(reply.body.preventRetry, flags.preventRetry, `${what} preventRetry`);
  assert.equal(reply.body.reset, flags.reset, `${what} reset`);
}

async function publishedAs(uuid: string, file: Buffer): Promise<UploadView> {
  const upload = await sys.waitForState(uuid, ['complete', 'failed', 'cancelled']);
  assert.equal(upload.state, 'complete', upload.error);
  assert.equal(upload.sha256, sha256(file));
  assert.ok((await sys.readPublished(upload)).equals(file), 'the published bytes are the file');
  const jobs = await sys.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
  assert.equal(jobs.filter((job) => job.data.keyHash === sys.keyHashOf(uuid)).length, 1, 'exactly one merge');
  return upload;
}

/** Sends every chunk of a file, in order, alternating between the instances. */
async function sendAll(file: Buffer, uuid: string, name: string): Promise<void> {
  for (let index = 0; index < Math.ceil(file.length / PART); index++) assert.deepEqual((await sendChunk(file, index, uuid, name, index % 2)).body, SUCCESS);
}

describe('Fine Uploader protocol', () => {
  test('0-based chunks, concurrent and each sent twice across two instances: {"success": true} every time, one merge', async () => {
    const file = randomFile(3 * PART + 123_456);
    const uuid = newUuid();
    const name = 'Résumé 履歴書 🎉.bin';
    // Three connections at once, as concurrent chunking does, and every chunk again on the other instance.
    const sends = [0, 1, 2, 3].flatMap((index) => [sendChunk(file, index, uuid, name, index % 2), sendChunk(file, index, uuid, name, (index + 1) % 2)]);
    const replies = await Promise.all(sends);
    for (const reply of replies) {
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, SUCCESS);
    }
    const finalised = await finalise(uuid, name, file.length, 4, 1);
    assert.equal(finalised.status, 200);
    assert.deepEqual(finalised.body, SUCCESS);
    const upload = await publishedAs(uuid, file);
    assert.equal(upload.name, name);
    const status = (await (await fetch(`${sys.urls[1]}/uploads/${uuid}`)).json()) as Record<string, unknown>;
    assert.equal(status.protocol, 'fine-uploader');
    assert.equal(status.state, 'complete');
    assert.equal(status.filename, name);
    assert.equal(status.total, 4);
    // A chunk sent again after the merge (a retry whose answer was lost) still succeeds.
    assert.deepEqual((await sendChunk(file, 3, uuid, name)).body, SUCCESS);
  });

  test('the chunk size is worked out and held to: offsets that disagree with index × size, totals that change mid-upload', async () => {
    const file = randomFile(2 * PART + 5000);
    const uuid = newUuid();
    const name = 'geometry.bin';
    const refused = (reply: Answer, status: number, what: string) => assertRefused(reply, status, { preventRetry: true, reset: false }, what);
    assert.deepEqual((await sendChunk(file, 0, uuid, name)).body, SUCCESS, 'chunk 0 fixes the chunk size: its own length');
    refused(await sendChunk(file, 2, uuid, name, 1, { qqpartbyteoffset: String(2 * PART + 1) }), 400, 'an offset not a multiple of the index');
    refused(await sendChunk(file, 1, uuid, name, 0, { qqpartbyteoffset: '0' }), 400, 'offset 0 for chunk 1');
    refused(await sendChunk(file, 0, uuid, name, 0, { qqpartbyteoffset: '5' }), 400, 'an offset for chunk 0');
    // A consistent geometry, but of another chunk size than the upload's first chunk: a conflict.
    const halves = { qqpartbyteoffset: String(PART / 2), qqchunksize: String(PART / 2), qqtotalparts: String(Math.ceil(file.length / (PART / 2))) };
    refused(await send({ ...chunkFields(file, 1, uuid, name), ...halves }, file.subarray(PART / 2, PART), { instance: 1 }), 409, 'another chunk size');
    refused(await sendChunk(file, 1, uuid, name, 1, { qqtotalparts: '4' }), 400, 'a chunk count that is not ceil(size / chunk size)');
    const past = await send({ ...chunkFields(file, 2, uuid, name), qqpartindex: '3', qqpartbyteoffset: String(3 * PART) }, sliceOf(file, 2), { instance: 1 });
    refused(past, 400, 'an index past the last chunk');
    assert.equal(past.body.code, 'range_out_of_bounds');
    refused(await sendChunk(file, 1, uuid, name, 0, { qqtotalfilesize: String(file.length + 1) }), 409, 'another total size mid-upload');
    refused(await sendChunk(file, 1, uuid, name, 0, { qqfilename: 'other.bin' }), 409, 'another name mid-upload');
    refused(await sendChunk(file, 1, uuid, name, 0, { qqchunksize: String(PART - 1) }), 400, 'a chunk length that is not the geometry\'s');
    refused(await send(chunkFields(file, 2, uuid, name), file.subarray(2 * PART, 2 * PART + 10)), 400, 'a body shorter than qqchunksize');
    // Nothing refused counted: the rest of the file completes it.
    assert.equal((await sys.readUpload(uuid))?.storedRanges, 1);
    assert.deepEqual((await sendChunk(file, 2, uuid, name, 1)).body, SUCCESS);
    assert.deepEqual((await sendChunk(file, 1, uuid, name, 0)).body, SUCCESS);
    await publishedAs(uuid, file);
  });

  test('the finalising request: waits for a last chunk still arriving, answers at once after it, and a retryable error if it never comes', async () => {
    const file = randomFile(2 * PART + 777);
    const uuid = newUuid();
    const name = 'finalise.bin';
    assert.deepEqual((await sendChunk(file, 0, uuid, name, 0)).body, SUCCESS);
    assert.deepEqual((await sendChunk(file, 1, uuid, name, 1)).body, SUCCESS);
    // The last chunk is on its way: its body held open one byte short of its end.
    const last = sliceOf(file, 2);
    const form = new FormData();
    for (const [key, value] of Object.entries(chunkFields(file, 2, uuid, name))) form.append(key, value);
    form.append('qqfile', new Blob([last]), 'blob');
    const encodedForm = new Response(form);
    const boundary = /boundary=(.+)$/.exec(encodedForm.headers.get('content-type')!)![1];
    const encoded = new Uint8Array(await encodedForm.arrayBuffer());
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoded.subarray(0, encoded.length - 1));
        await released;
        controller.enqueue(encoded.subarray(encoded.length - 1));
        controller.close();
      },
    });
    const lastChunk = fetch(endpoint(1), { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body, duplex: 'half' } as RequestInit).then(answer);
    // The finalising request arrives first, and is seen reading the (still receiving) upload more than once: it waits.
    const client = new Redis(sys.redisServer.url);
    const monitor = await client.monitor();
    const meta = uploadKeys(sys.config.REDIS_PREFIX, sys.keyHashOf(uuid)).meta;
    let reads = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'hgetall' && args[1] === meta) reads += 1;
    });
    try {
      const early = finalise(uuid, name, file.length, 3, 0);
      await eventually(() => reads >= 2, { what: 'the finalising request polling the upload' });
      assert.equal((await sys.readUpload(uuid))?.state, 'receiving', 'the last chunk is not stored yet');
      release();
      const [chunkReply, finalReply] = await Promise.all([lastChunk, early]);
      assert.deepEqual(chunkReply.body, SUCCESS);
      assert.equal(finalReply.status, 200);
      assert.deepEqual(finalReply.body, SUCCESS);
    } finally {
      monitor.disconnect();
      client.disconnect();
    }
    await publishedAs(uuid, file);
    // Once complete, at once (and again: a retried finalising request).
    const started = Date.now();
    assert.deepEqual((await finalise(uuid, name, file.length, 3, 1)).body, SUCCESS);
    assert.ok(Date.now() - started < 2000, 'no wait for a complete upload');

    // A chunk that never comes: after a few seconds, an error without preventRetry, and the retry succeeds once it is there.
    const incomplete = newUuid();
    assert.deepEqual((await sendChunk(file, 0, incomplete, name)).body, SUCCESS);
    assert.deepEqual((await sendChunk(file, 2, incomplete, name)).body, SUCCESS);
    const timedOut = await finalise(incomplete, name, file.length, 3, 1);
    assertRefused(timedOut, 503, { preventRetry: false, reset: false }, 'not complete');
    assert.equal(timedOut.headers.get('retry-after'), '1');
    assert.deepEqual((await sendChunk(file, 1, incomplete, name, 1)).body, SUCCESS);
    assert.deepEqual((await finalise(incomplete, name, file.length, 3, 0)).body, SUCCESS);
    await publishedAs(incomplete, file);

    // A finalising request that contradicts the chunks can never succeed; one for chunks the server does not have restarts the file.
    assertRefused(await finalise(uuid, name, file.length + 1, 3), 409, { preventRetry: true, reset: false }, 'another size');
    assertRefused(await finalise(uuid, 'renamed.bin', file.length, 3), 409, { preventRetry: true, reset: false }, 'another name');
    assertRefused(await finalise(newUuid(), name, file.length, 3), 404, { preventRetry: false, reset: true }, 'unknown');
  });

  test('whole files (not larger than partSize): no part fields, stored under their uuid with the part\'s name and type; raw bodies too', async () => {
    for (const [size, name, type] of [[1, 'one.txt', 'text/plain'], [PART, 'dos millones ñ.pdf', 'application/pdf'], [12_345, '日本.bin', 'application/octet-stream']] as const) {
      const file = randomFile(size);
      const uuid = newUuid();
      const fields = { qquuid: uuid, qqfilename: name, qqtotalfilesize: String(size) };
      const reply = await send(fields, file, { instance: size % 2, filename: name, type });
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, SUCCESS);
      const upload = await publishedAs(uuid, file);
      assert.equal(upload.name, name);
      assert.equal(upload.type, type);
      assert.equal(upload.identifier, uuid);
      // The same file again (its answer was lost): success, nothing new.
      assert.deepEqual((await send(fields, file, { instance: 1, filename: name, type })).body, SUCCESS);
      await publishedAs(uuid, file);
    }
    // request.paramsInBody: false, forceMultipart: false: the fields in the query, the raw file as the body.
    const raw = randomFile(4321);
    const uuid = newUuid();
    const query = new URLSearchParams({ qquuid: uuid, qqfilename: 'raw.csv', qqfile: 'raw.csv' });
    const reply = await answer(await fetch(`${endpoint(1)}?${query}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-mime-type': 'text/csv' }, body: raw }));
    assert.deepEqual(reply.body, SUCCESS);
    assert.equal((await publishedAs(uuid, raw)).type, 'text/csv');
    // chunking.mandatory: a small file as one chunk (qqtotalparts 1).
    const small = randomFile(3);
    const single = newUuid();
    assert.deepEqual((await send(chunkFields(small, 0, single, 'three.bin'), small)).body, SUCCESS);
    assert.deepEqual((await finalise(single, 'three.bin', 3, 1)).body, SUCCESS);
    await publishedAs(single, small);
  });

  test('error JSON: preventRetry for what can never be valid, reset when the server lost the upload (the restart from chunk 0 then completes it)', async () => {
    const file = randomFile(2 * PART + 10);
    const name = 'errors.bin';
    // A resume from local storage after the server let the upload expire: restart from chunk 0.
    const resumed = newUuid();
    assertRefused(await sendChunk(file, 1, resumed, name, 0, { qqresume: 'true' }), 410, { preventRetry: false, reset: true }, 'resumed, unknown');
    assert.equal(await sys.readUpload(resumed), undefined, 'nothing stored');
    await sendAll(file, resumed, name);
    await publishedAs(resumed, file);

    // The upload's state lost behind an instance's back (a Redis restarted empty): the instance that knew it says so.
    const lost = newUuid();
    assert.deepEqual((await sendChunk(file, 0, lost, name, 0)).body, SUCCESS);
    await sys.redis.del(uploadKeys(sys.config.REDIS_PREFIX, sys.keyHashOf(lost)).meta);
    assertRefused(await sendChunk(file, 1, lost, name, 0), 410, { preventRetry: false, reset: true }, 'lost');
    await sendAll(file, lost, name);
    await publishedAs(lost, file);

    // Cancelled (DELETE /uploads/:id): no retry.
    const cancelled = newUuid();
    assert.deepEqual((await sendChunk(file, 0, cancelled, name)).body, SUCCESS);
    assert.equal((await fetch(`${sys.urls[1]}/uploads/${cancelled}`, { method: 'DELETE' })).status, 200);
    assertRefused(await sendChunk(file, 1, cancelled, name, 1), 410, { preventRetry: true, reset: false }, 'cancelled');
    assertRefused(await finalise(cancelled, name, file.length, 3), 410, { preventRetry: true, reset: false }, 'cancelled, finalised');

    // Type refused by the server's allowlist: no retry.
    const strict = await startSystem({ env: { ALLOWED_TYPES: '.pdf' } });
    try {
      const form = new FormData();
      for (const [key, value] of Object.entries({ qquuid: newUuid(), qqfilename: 'tool.exe', qqtotalfilesize: '4' })) form.append(key, value);
      form.append('qqfile', new Blob([new Uint8Array(4)]), 'tool.exe');
      assertRefused(await answer(await fetch(`${strict.urls[0]}/upload`, { method: 'POST', body: form })), 415, { preventRetry: true, reset: false }, 'type');
    } finally {
      await strict.stop();
    }
  });

  test('hostile values in every field: 4xx with preventRetry, never 5xx, nothing outside the data directory', async () => {
    const file = randomFile(PART + 100);
    const failures: string[] = [];
    const check = async (what: string, reply: Promise<Answer>, status?: number) => {
      const { status: got, body } = await reply;
      if (got < 400 || got >= 500 || (status !== undefined && got !== status) || body.success !== false || body.preventRetry !== true) {
        failures.push(`${what}: ${got} ${JSON.stringify(body).slice(0, 200)}`);
      }
    };
    const chunk = (overrides: Record<string, string | undefined>, bytes: Uint8Array = sliceOf(file, 0)) => {
      const fields = { ...chunkFields(file, 0, `hostile-${counter++}`, 'ok.bin'), ...overrides };
      return send(Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined)), bytes);
    };
    for (const uuid of ['', '../../etc/passwd', 'a b', 'x'.repeat(300), 'a\u0000b', 'ü']) await check(`qquuid ${JSON.stringify(uuid.slice(0, 30))}`, chunk({ qquuid: uuid }), 400);
    for (const filename of ['', '../x.bin', 'a/b.bin', 'a\\b.bin', '..', 'evil\u202Etxt.exe', 'a\u2215b', 'x'.repeat(300), 'nul\u0000.bin']) {
      await check(`qqfilename ${JSON.stringify(filename.slice(0, 30))}`, chunk({ qqfilename: filename }), 400);
    }
    for (const [field, values] of [
      ['qqpartindex', ['-1', 'x', '1.5', '', '0x0', '99999999999999999999']],
      ['qqpartbyteoffset', ['-1', 'abc', '', '1e3']],
      ['qqchunksize', ['0', '-5', 'x', '']],
      ['qqtotalparts', ['0', 'x', '', '-2']],
      ['qqtotalfilesize', ['-1', '1e9', 'x', '', '0']],
    ] as const) {
      for (const value of values) await check(`${field} ${JSON.stringify(value)}`, chunk({ [field]: value }));
    }
    await check('qqtotalfilesize over MAX_FILE_SIZE', chunk({ qqtotalfilesize: String(65 * 1024 * 1024), qqtotalparts: String(Math.ceil((65 * 1024 * 1024) / PART)) }), 413);
    await check('a chunk past MAX_CHUNK_SIZE', chunk({ qqchunksize: String(9 * 1024 * 1024), qqtotalfilesize: String(18 * 1024 * 1024), qqtotalparts: '2' }), 413);
    await check('a body longer than qqchunksize', chunk({}, new Uint8Array(PART + 1)), 400);
    const noFile = new FormData();
    for (const [key, value] of Object.entries(chunkFields(file, 0, newUuid(), 'ok.bin'))) noFile.append(key, value);
    await check('no file part', fetch(endpoint(), { method: 'POST', body: noFile }).then(answer), 400);
    await check('whole file, bad size', send({ qquuid: newUuid(), qqfilename: 'w.bin', qqtotalfilesize: 'many' }, new Uint8Array(3)), 400);
    await check('whole file, size unlike its body', send({ qquuid: newUuid(), qqfilename: 'w.bin', qqtotalfilesize: '10' }, new Uint8Array(3)), 400);
    await check('whole file, name a path', send({ qquuid: newUuid(), qqfilename: '../../w.bin', qqtotalfilesize: '3' }, new Uint8Array(3)), 400);
    await check('raw chunk of a form type', fetch(`${endpoint()}?${new URLSearchParams({ ...chunkFields(file, 0, newUuid(), 'ok.bin') })}`, {
      method: 'POST', headers: { 'content-type': 'multipart/mixed; boundary=x' }, body: new Uint8Array(10),
    }).then(answer), 415);
    for (const [field, value] of [['qquuid', '../x'], ['qqfilename', '../x'], ['qqtotalfilesize', '-3'], ['qqtotalparts', 'x'], ['qqtotalparts', '0']] as const) {
      const fields = { qquuid: newUuid(), qqfilename: 'f.bin', qqtotalfilesize: '10', qqtotalparts: '1', [field]: value };
      await check(`finalise ${field} ${value}`, fetch(endpoint(), { method: 'POST', body: new URLSearchParams(fields) }).then(answer), 400);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual((await readdir(sys.sandbox)).filter((entry) => entry !== 'data'), [], 'nothing outside DATA_DIR');
  });
});
