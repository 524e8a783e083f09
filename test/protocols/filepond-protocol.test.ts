/**
 * FilePond 4.32 (`server: '/upload'`, `chunkUploads: true`) over raw HTTP, request by request
 * as docs/protocols/filepond.md records them, against two ingest instances and a worker:
 * chunked transfers (creation, PATCHes alternating between the instances, the empty last
 * PATCH of an exact multiple, offsets out of order and how a HEAD recovers them, chunks sent
 * again, a broken body counting nothing), revert, whole files (0 B, 1 B, 5,000,000 B),
 * names in UTF-8, and hostile values in every field and header: a 4xx, never a 5xx, nothing
 * outside the data directory. Every published file is compared byte for byte and merged once.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { sizeOf, startSystem, type TestSystem, type UploadView } from '../helpers/system.js';
import { randomFile, sha256 } from '../helpers/upload-client.js';

/** FilePond's default chunkSize (decimal). */
const CHUNK = 5_000_000;
const OCTET = 'application/offset+octet-stream';
let sys: TestSystem;

before(async () => {
  sys = await startSystem({ worker: true, ingestInstances: 2, env: { MAX_FILE_SIZE: '64MB', MAX_CHUNK_SIZE: '8MB' } });
});
after(() => sys?.stop());

const endpoint = (instance = 0) => `${sys.urls[instance]}/upload`;
/** How FilePond's header carries a name: its UTF-8 bytes, one header character per byte. */
const rawUtf8 = (name: string) => Buffer.from(name, 'utf8').toString('latin1');

async function create(size: number | string, options: { instance?: number; metadata?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const form = new FormData();
  form.append('filepond', options.metadata ?? '{}');
  return fetch(endpoint(options.instance), { method: 'POST', headers: { 'upload-length': String(size), ...options.headers }, body: form });
}

async function created(size: number, instance = 0): Promise<string> {
  const response = await create(size, { instance });
  const id = await response.text();
  assert.equal(response.status, 200, id);
  assert.match(response.headers.get('content-type')!, /^text\/plain/);
  assert.match(id, /^[0-9a-f]{32}$/, 'a bare URL-safe token, no newline');
  return id;
}

interface PatchOptions {
  instance?: number;
  size: number;
  name?: string;
  headers?: Record<string, string>;
}

function patch(id: string, offset: number, body: Uint8Array, options: PatchOptions): Promise<Response> {
  return fetch(`${endpoint(options.instance)}?patch=${id}`, {
    method: 'PATCH',
    headers: {
      'content-type': OCTET,
      'upload-offset': String(offset),
      'upload-length': String(options.size),
      'upload-name': rawUtf8(options.name ?? 'file.bin'),
      ...options.headers,
    },
    body,
  });
}

const head = (id: string, instance = 0) => fetch(`${endpoint(instance)}?patch=${id}`, { method: 'HEAD' });
const offsetOf = async (id: string, instance = 0) => {
  const response = await head(id, instance);
  assert.equal(response.status, 200);
  return Number(response.headers.get('upload-offset'));
};
const revert = (id: string, instance = 0) =>
  fetch(endpoint(instance), { method: 'DELETE', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: id });

/** FilePond's chunks: floor(size / chunkSize) + 1 of them, the last one empty on an exact multiple. */
function chunksOf(file: Buffer, chunkSize: number): { offset: number; body: Buffer }[] {
  return Array.from({ length: Math.floor(file.length / chunkSize) + 1 }, (_, i) => ({
    offset: i * chunkSize,
    body: file.subarray(i * chunkSize, (i + 1) * chunkSize),
  }));
}

/** Sends every chunk in order, as FilePond does, alternating between the instances. */
async function sendAll(id: string, file: Buffer, chunkSize: number, name: string): Promise<number[]> {
  const statuses: number[] = [];
  for (const [i, chunk] of chunksOf(file, chunkSize).entries()) {
    const response = await patch(id, chunk.offset, chunk.body, { size: file.length, name, instance: i % 2 });
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  return statuses;
}

async function publishedAs(id: string, file: Buffer): Promise<UploadView> {
  const upload = await sys.waitForState(id, ['complete', 'failed', 'cancelled']);
  assert.equal(upload.state, 'complete', upload.error);
  assert.equal(upload.sha256, sha256(file));
  assert.ok((await sys.readPublished(upload)).equals(file), 'the published bytes are the file');
  const jobs = await sys.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
  assert.equal(jobs.filter((job) => job.data.keyHash === sys.keyHashOf(id)).length, 1, 'exactly one merge');
  return upload;
}

async function statusOf(id: string, instance = 0): Promise<Record<string, unknown>> {
  const response = await fetch(`${sys.urls[instance]}/uploads/${id}`);
  assert.equal(response.status, 200);
  return (await response.json()) as Record<string, unknown>;
}

describe('FilePond protocol', () => {
  test('a chunked transfer: created on one instance, PATCHes alternating between two, published once under its Upload-Name', async () => {
    const file = randomFile(2 * CHUNK + 345_678);
    const id = await created(file.length, 0);
    assert.equal(await offsetOf(id, 1), 0, 'the other instance knows the new transfer');
    const name = 'Ünïcödé 日本語 🎉.bin';
    assert.deepEqual(await sendAll(id, file, CHUNK, name), [204, 204, 204]);
    const upload = await publishedAs(id, file);
    assert.equal(upload.name, name, 'the name FilePond sent as raw UTF-8 bytes');
    assert.ok(upload.path!.endsWith(`/${name}`), upload.path);
    const status = await statusOf(id, 1);
    assert.equal(status.protocol, 'filepond');
    assert.equal(status.state, 'complete');
    assert.equal(status.filename, name);
    assert.equal(await offsetOf(id), file.length, 'a complete transfer reports its whole length');
  });

  test('an exact multiple of the chunk size: the empty last PATCH is acknowledged, also once the file is merged', async () => {
    const file = randomFile(2 * CHUNK);
    const id = await created(file.length, 1);
    const chunks = chunksOf(file, CHUNK);
    assert.deepEqual(chunks.map((c) => c.body.length), [CHUNK, CHUNK, 0], 'FilePond sends 5,000,000, 5,000,000 and 0 bytes');
    assert.deepEqual(await sendAll(id, file, CHUNK, 'exact.bin'), [204, 204, 204]);
    await publishedAs(id, file);
    // A retry of the file (after a later error, say) asks HEAD and sends the chunks at or past its offset: the empty one.
    assert.equal(await offsetOf(id, 0), file.length);
    assert.equal((await patch(id, file.length, new Uint8Array(0), { size: file.length, name: 'exact.bin', instance: 1 })).status, 204);
  });

  test('an offset out of order is a 409; HEAD says where to go on, at a chunk boundary; chunks sent again are acknowledged', async () => {
    const chunkSize = 64 * 1024;
    const file = randomFile(3 * chunkSize + 1000);
    const id = await created(file.length);
    const chunks = chunksOf(file, chunkSize);
    const send = (i: number, instance = 0) => patch(id, chunks[i]!.offset, chunks[i]!.body, { size: file.length, name: 'gap.bin', instance });
    assert.equal((await send(0)).status, 204);
    const skipped = await send(2, 1);
    assert.equal(skipped.status, 409, 'a chunk past the stored end');
    assert.match(skipped.headers.get('content-type')!, /^text\/plain/);
    assert.match(await skipped.text(), /^offset_mismatch: /);
    // FilePond retries the PATCH three times, then errors the file; its retry asks HEAD first.
    assert.equal(await offsetOf(id, 1), chunkSize);
    assert.equal((await send(1, 1)).status, 204);
    // The answer to chunk 1 was lost, say: FilePond sends it again, and the server has it already.
    const again = await send(1, 0);
    assert.equal(again.status, 204, await again.text());
    assert.equal(again.headers.get('upload-offset'), String(2 * chunkSize));
    assert.equal(await offsetOf(id), 2 * chunkSize, 'nothing counted twice');
    // A HEAD without a usable Upload-Offset (not exposed cross-origin) makes FilePond send every chunk again.
    for (const i of [0, 1, 2, 3]) assert.equal((await send(i, i % 2)).status, 204, `chunk ${i}`);
    await publishedAs(id, file);
    assert.equal((await send(2, 1)).status, 204, 'a chunk sent again once the file is merged');
    // Chunks that straddle the stored end or disagree with the upload are not "already there".
    const other = await created(file.length);
    assert.equal((await patch(other, 0, chunks[0]!.body, { size: file.length, name: 'x.bin' })).status, 204);
    assert.equal((await patch(other, 1000, file.subarray(1000, 1000 + chunkSize), { size: file.length, name: 'x.bin' })).status, 409);
    assert.equal((await patch(other, 0, chunks[0]!.body, { size: file.length + 1, name: 'x.bin' })).status, 409, 'another Upload-Length');
    assert.equal((await patch(other, chunkSize, chunks[1]!.body, { size: file.length, name: 'y.bin' })).status, 409, 'another Upload-Name');
    assert.equal(await offsetOf(other), chunkSize);
    assert.equal((await patch(other, chunkSize, chunks[1]!.body, { size: file.length, name: 'x.bin', instance: 1 })).status, 204, 'a refused PATCH let go of the upload');
  });

  test('a PATCH whose body breaks off counts nothing: the transfer goes on from the chunk boundary', async () => {
    const chunkSize = 4 * 1024 * 1024;
    const file = randomFile(chunkSize + 5000);
    const id = await created(file.length);
    const url = new URL(`${endpoint(0)}?patch=${id}`);
    await new Promise<void>((resolve) => {
      const request = http.request({
        host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'PATCH',
        headers: { 'content-type': OCTET, 'upload-offset': '0', 'upload-length': String(file.length), 'upload-name': 'broken.bin', 'content-length': String(chunkSize) },
      });
      request.on('error', () => resolve());
      request.on('close', () => resolve());
      request.write(file.subarray(0, 3 * 1024 * 1024));
      // Broken off once the server has written part of the chunk to the upload's data file.
      eventually(() => sizeOf(sys.layout.dataFile(sys.keyHashOf(id))).catch(() => 0), { accept: (bytes) => bytes >= 1024 * 1024, what: 'part of the chunk written' })
        .finally(() => request.destroy());
    });
    // FilePond retries the chunk. While the broken request still holds the upload's lock the
    // answer is 423 (retried too); once it let go, the chunk goes in whole from offset 0,
    // which it could not if the bytes that arrived before the break had been kept.
    let attempt = 0;
    const retried = await eventually(async () => {
      const response = await patch(id, 0, file.subarray(0, chunkSize), { size: file.length, name: 'broken.bin', instance: attempt++ % 2 });
      return { status: response.status, text: await response.text() };
    }, { accept: (answer) => answer.status !== 423, what: 'the broken PATCH to let go of the upload' });
    assert.equal(retried.status, 204, retried.text);
    assert.equal(await offsetOf(id, 1), chunkSize);
    assert.equal((await patch(id, chunkSize, file.subarray(chunkSize), { size: file.length, name: 'broken.bin' })).status, 204);
    await publishedAs(id, file);
  });

  test('revert: DELETE with the id as its body cancels the transfer; its PATCHes and HEAD are refused after', async () => {
    const file = randomFile(300_000);
    const id = await created(file.length);
    assert.equal((await patch(id, 0, file.subarray(0, 100_000), { size: file.length })).status, 204);
    const reverted = await revert(id, 1);
    assert.equal(reverted.status, 204, await reverted.text());
    assert.equal((await sys.readUpload(id))?.state, 'cancelled');
    assert.equal((await statusOf(id)).state, 'cancelled');
    // FilePond may still send the next PATCH (removal during an upload does not stop it): refused, and retried in vain.
    assert.equal((await patch(id, 100_000, file.subarray(100_000, 200_000), { size: file.length, instance: 1 })).status, 410);
    assert.equal((await head(id)).status, 410);
    assert.equal((await revert('0'.repeat(32))).status, 404, 'an unknown transfer');
    // A whole file already published is not taken back: FilePond removes the item whatever the answer.
    const form = new FormData();
    form.append('filepond', '{}');
    form.append('filepond', new Blob([new Uint8Array(10)]), 'kept.bin');
    const wholeId = await (await fetch(endpoint(), { method: 'POST', body: form })).text();
    await sys.waitForState(wholeId, ['complete']);
    assert.equal((await revert(wholeId)).status, 409);
    assert.equal((await sys.readUpload(wholeId))?.state, 'complete');
  });

  test('whole files (not larger than chunkSize): 0 B, 1 B, 5,000,000 B in one POST, the id as text, the part\'s UTF-8 name', async () => {
    for (const [size, name, type] of [[0, 'empty.txt', 'text/plain'], [1, 'résumé 履歴書.pdf', 'application/pdf'], [CHUNK, 'five million.bin', '']] as const) {
      const file = randomFile(size);
      const form = new FormData();
      form.append('filepond', JSON.stringify({ album: 'x' }));
      form.append('filepond', new Blob([file], type ? { type } : {}), name);
      const response = await fetch(endpoint(size % 2), { method: 'POST', body: form });
      const id = await response.text();
      assert.equal(response.status, 200, id);
      assert.match(response.headers.get('content-type')!, /^text\/plain/);
      assert.match(id, /^[0-9a-f]{32}$/);
      const upload = await publishedAs(id, file);
      assert.equal(upload.name, name);
      if (type) assert.equal(upload.type, type);
      const status = await statusOf(id, 1);
      assert.equal(status.protocol, 'filepond');
      assert.equal(status.state, 'complete');
    }
    // The page's input may name the field: FilePond sends both parts under that name.
    const form = new FormData();
    form.append('avatar', '{}');
    form.append('avatar', new Blob([new Uint8Array(7)]), 'me.png');
    const response = await fetch(endpoint(), { method: 'POST', body: form });
    assert.equal(response.status, 200);
    assert.equal((await sys.waitForState(await response.text(), ['complete'])).name, 'me.png');
  });

  test('chunkForce: a 3-byte file in one PATCH; an empty one created complete (its empty PATCH acknowledged)', async () => {
    const small = randomFile(3);
    const id = await created(3);
    assert.equal((await patch(id, 0, small, { size: 3, name: 'three.bin' })).status, 204);
    assert.equal((await publishedAs(id, small)).name, 'three.bin');
    const empty = await created(0);
    assert.equal((await patch(empty, 0, new Uint8Array(0), { size: 0, name: 'none.bin' })).status, 204);
    await publishedAs(empty, Buffer.alloc(0));
  });

  test('ALLOWED_TYPES: a chunked transfer, created unnamed, is checked by the name of its first PATCH', async () => {
    const strict = await startSystem({ env: { ALLOWED_TYPES: '.pdf' } });
    try {
      const url = `${strict.urls[0]}/upload`;
      const form = () => {
        const body = new FormData();
        body.append('filepond', '{}');
        return body;
      };
      const chunk = (id: string, name: string) => fetch(`${url}?patch=${id}`, {
        method: 'PATCH', headers: { 'content-type': OCTET, 'upload-offset': '0', 'upload-length': '4', 'upload-name': name }, body: new Uint8Array(4),
      });
      const id = await (await fetch(url, { method: 'POST', headers: { 'upload-length': '4' }, body: form() })).text();
      assert.match(id, /^[0-9a-f]{32}$/, 'created without a name');
      assert.equal((await chunk(id, 'tool.exe')).status, 415);
      assert.equal((await strict.readUpload(id))?.storedBytes, 0);
      assert.equal((await chunk(id, 'report.pdf')).status, 204);
      assert.equal((await strict.readUpload(id))?.name, 'report.pdf');
      const empty = await fetch(url, { method: 'POST', headers: { 'upload-length': '0' }, body: form() });
      assert.equal(empty.status, 415, 'an empty transfer is complete at once, so it is checked at once');
    } finally {
      await strict.stop();
    }
  });

  test('hostile values in every field and header: 4xx, never 5xx, nothing outside the data directory', async () => {
    const failures: string[] = [];
    const expect = async (what: string, response: Response, status: number) => {
      const text = await response.text();
      if (response.status !== status) failures.push(`${what}: ${response.status} (expected ${status}) ${text.slice(0, 200)}`);
    };
    // Creation: Upload-Length and the metadata part.
    for (const length of ['-1', '1e3', 'abc', '', '0x10', '5.0', '99999999999999999999']) {
      await expect(`Upload-Length ${JSON.stringify(length)}`, await create(length), 400);
    }
    await expect('Upload-Length over MAX_FILE_SIZE', await create(65 * 1024 * 1024), 413);
    for (const metadata of ['not json', '[1,2]', 'null', '"text"', '{"a":']) {
      await expect(`metadata ${metadata}`, await create(10, { metadata }), 400);
    }
    // Whole files: names and types of the file part.
    const whole = async (name: string, type = '', metadata = '{}') => {
      const form = new FormData();
      form.append('filepond', metadata);
      form.append('filepond', new Blob([new Uint8Array(4)], type ? { type } : {}), name);
      return fetch(endpoint(), { method: 'POST', body: form });
    };
    for (const name of ['..', 'evil\u202Etxt.exe', 'x'.repeat(300), 'a\u2215b', 'zero\u200bwidth', '']) {
      await expect(`file name ${JSON.stringify(name.slice(0, 40))}`, await whole(name), 400);
    }
    // A path in the part's file name is refused, never cut down to its last segment.
    for (const name of ['../../etc/passwd', 'a\\b.txt']) {
      await expect(`file name ${JSON.stringify(name)}`, await whole(name), 400);
    }
    await expect('whole-file metadata', await whole('ok.bin', '', '{{'), 400);
    const boundary = 'filepondhostile';
    const withControl = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="filepond"\r\n\r\n{}\r\n--${boundary}\r\n`
      + `Content-Disposition: form-data; name="filepond"; filename="a.txt"\r\nContent-Type: text/plain\u0001\r\n\r\nabc\r\n--${boundary}--\r\n`, 'latin1');
    await expect('a control character in the part\'s type', await fetch(endpoint(), { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: withControl }), 400);

    // PATCH: the id, the numbers, the name, the body.
    const id = await created(1000);
    const body = new Uint8Array(100);
    const base = { 'content-type': OCTET, 'upload-offset': '0', 'upload-length': '1000', 'upload-name': 'ok.bin' };
    const patchRaw = (query: string, headers: Record<string, string>, content: Uint8Array = body) =>
      fetch(`${endpoint()}?${query}`, { method: 'PATCH', headers: { ...base, ...headers }, body: content });
    for (const query of ['patch=', 'patch=..%2F..%2Fetc%2Fpasswd', `patch=${id}&patch=${id}`, 'patch=%00', `patch=${'a'.repeat(300)}`]) {
      await expect(`?${query}`, await patchRaw(query, {}), 400);
    }
    await expect('an id this server never made', await patchRaw('patch=not-ours', {}), 404);
    await expect('an unknown transfer', await patchRaw(`patch=${'f'.repeat(32)}`, {}), 404);
    for (const offset of ['-1', 'x', '', '1.5', '1e2']) await expect(`Upload-Offset ${JSON.stringify(offset)}`, await patchRaw(`patch=${id}`, { 'upload-offset': offset }), 400);
    for (const length of ['-1', '', 'many']) await expect(`Upload-Length ${JSON.stringify(length)}`, await patchRaw(`patch=${id}`, { 'upload-length': length }), 400);
    await expect('another Upload-Length', await patchRaw(`patch=${id}`, { 'upload-length': '2000' }), 409);
    for (const name of ['', '../x.bin', 'a/b', 'a\\b', '..', rawUtf8('evil\u202Etxt.exe'), rawUtf8('a\u2044b'), rawUtf8('x'.repeat(256))]) {
      await expect(`Upload-Name ${JSON.stringify(name.slice(0, 40))}`, await patchRaw(`patch=${id}`, { 'upload-name': name }), 400);
    }
    await expect('Upload-Name bytes that are not UTF-8', await patchRaw(`patch=${id}`, { 'upload-name': '\xff\xfe.bin' }), 400);
    await expect('a body past Upload-Length', await patchRaw(`patch=${id}`, {}, new Uint8Array(1001)), 413);
    await expect('a form body', await patchRaw(`patch=${id}`, { 'content-type': 'application/x-www-form-urlencoded' }), 415);
    await expect('a text body', await patchRaw(`patch=${id}`, { 'content-type': 'text/plain' }), 415);
    assert.equal(await offsetOf(id), 0, 'nothing was stored by a refused PATCH');

    // HEAD and revert.
    for (const query of ['patch=..%2F..%2F', 'patch=', `patch=${'0'.repeat(32)}`]) {
      const response = await fetch(`${endpoint()}?${query}`, { method: 'HEAD' });
      if (response.status < 400 || response.status >= 500) failures.push(`HEAD ?${query}: ${response.status}`);
    }
    for (const text of ['../../etc/passwd', 'a b', 'x'.repeat(300), `${id}\u0000`]) {
      const response = await fetch(endpoint(), { method: 'DELETE', headers: { 'content-type': 'text/plain' }, body: text });
      if (response.status < 400 || response.status >= 500) failures.push(`DELETE ${JSON.stringify(text.slice(0, 40))}: ${response.status}`);
      await response.arrayBuffer();
    }
    // The transfer of another protocol is not FilePond's to append to.
    const tus = await fetch(`${sys.urls[0]}/files/`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '100' } });
    const tusId = tus.headers.get('location')!.split('/').pop()!;
    await expect('a tus upload\'s id', await patchRaw(`patch=${tusId}`, { 'upload-length': '100' }), 404);

    assert.deepEqual(failures, []);
    assert.deepEqual((await readdir(sys.sandbox)).filter((name) => name !== 'data'), [], 'nothing outside DATA_DIR');
  });
});
