/**
 * The tus 1.0.0 protocol over raw HTTP, rule by rule (https://tus.io/protocols/resumable-upload):
 * capabilities, creation (with upload, with deferred length), HEAD, PATCH (content type,
 * offsets, kept bytes of a broken body), checksums, termination, expiration, method override,
 * version checks, Location behind a proxy, concatenation, and hostile headers: always a 4xx,
 * never a 5xx, nothing outside the data directory.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, sha256 } from '../helpers/upload-client.js';

const V = { 'tus-resumable': '1.0.0' };
const b64 = (text: string) => Buffer.from(text).toString('base64');
let sys: TestSystem;
let base: string;

before(async () => {
  sys = await startSystem({ worker: true, env: { MAX_FILE_SIZE: '64MB', MAX_CHUNK_SIZE: '16MB', TRUST_PROXY: 'true' } });
  base = `${sys.urls[0]}/files/`;
});
after(() => sys?.stop());

async function create(headers: Record<string, string>, body?: Uint8Array): Promise<Response> {
  return fetch(base, { method: 'POST', headers: { ...V, ...headers }, body });
}

async function created(size: number, extra: Record<string, string> = {}): Promise<string> {
  const response = await create({ 'upload-length': String(size), 'upload-metadata': `filename ${b64('t.bin')}`, ...extra });
  assert.equal(response.status, 201, await response.text());
  return response.headers.get('location')!;
}

const patch = (url: string, offset: number, body: Uint8Array, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'PATCH', headers: { ...V, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), ...headers }, body });
const head = (url: string, headers: Record<string, string> = {}) => fetch(url, { method: 'HEAD', headers: { ...V, ...headers } });
const idOf = (url: string) => url.split('/').pop()!;

describe('tus 1.0 protocol', () => {
  test('OPTIONS advertises the version, the size limit, the extensions and the checksum algorithms', async () => {
    const response = await fetch(base, { method: 'OPTIONS' });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('tus-version'), '1.0.0');
    assert.equal(response.headers.get('tus-max-size'), String(64 * 1024 * 1024));
    for (const extension of ['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'concatenation', 'checksum', 'expiration']) {
      assert.ok(response.headers.get('tus-extension')!.split(',').includes(extension), extension);
    }
    for (const algorithm of ['sha1', 'sha256', 'md5']) assert.ok(response.headers.get('tus-checksum-algorithm')!.includes(algorithm));
  });

  test('create, HEAD, PATCH in two steps: offsets, headers, and the merged file', async () => {
    const file = randomFile(300_000);
    const response = await create({ 'upload-length': String(file.length), 'upload-metadata': `filename ${b64('naïve "q" 日本.bin')},filetype ${b64('application/x-test')},empty` });
    assert.equal(response.status, 201);
    const url = response.headers.get('location')!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/files\/[0-9a-f]{32}$/, 'absolute');
    assert.ok(response.headers.get('upload-expires'));

    const fresh = await head(url);
    assert.equal(fresh.status, 200);
    assert.equal(fresh.headers.get('upload-offset'), '0');
    assert.equal(fresh.headers.get('upload-length'), String(file.length));
    assert.equal(fresh.headers.get('cache-control'), 'no-store');
    assert.ok(fresh.headers.get('upload-expires'));
    assert.match(fresh.headers.get('upload-metadata')!, /filename [A-Za-z0-9+/=]+,filetype [A-Za-z0-9+/=]+,empty/);

    assert.equal((await patch(url, 0, file.subarray(0, 100_000), { 'content-type': 'application/octet-stream' })).status, 415, 'the content type is checked');
    assert.equal((await patch(url, 5, file.subarray(5, 100_000))).status, 409, 'the offset must be where the upload continues');
    const first = await patch(url, 0, file.subarray(0, 100_000));
    assert.equal(first.status, 204);
    assert.equal(first.headers.get('upload-offset'), '100000');
    assert.ok(first.headers.get('upload-expires'));
    assert.equal((await head(url)).headers.get('upload-offset'), '100000');
    const last = await patch(url, 100_000, file.subarray(100_000));
    assert.equal(last.status, 204);
    assert.equal(last.headers.get('upload-offset'), String(file.length));

    const upload = await sys.waitForState(idOf(url), ['complete', 'failed']);
    assert.equal(upload.sha256, sha256(file));
    assert.equal(upload.name, 'naïve "q" 日本.bin');
    assert.equal(upload.type, 'application/x-test');
    const status = (await (await fetch(`${sys.urls[0]}/uploads/${idOf(url)}`)).json()) as Record<string, unknown>;
    assert.equal(status.protocol, 'tus');
    assert.equal(status.state, 'complete');
    assert.equal((await head(url)).headers.get('upload-offset'), String(file.length), 'a finished upload reports its whole length');
  });

  test('creation with upload: the POST body is the first bytes', async () => {
    const file = randomFile(50_000);
    const response = await create({ 'upload-length': String(file.length), 'content-type': 'application/offset+octet-stream' }, file.subarray(0, 20_000));
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('upload-offset'), '20000');
    const url = response.headers.get('location')!;
    assert.equal((await patch(url, 20_000, file.subarray(20_000))).status, 204);
    assert.equal((await sys.waitForState(idOf(url), ['complete'])).sha256, sha256(file));
  });

  test('deferred length: declared with the last PATCH', async () => {
    const file = randomFile(30_000);
    const response = await create({ 'upload-defer-length': '1' });
    assert.equal(response.status, 201);
    const url = response.headers.get('location')!;
    assert.equal((await head(url)).headers.get('upload-defer-length'), '1');
    assert.equal((await patch(url, 0, file.subarray(0, 10_000))).status, 204);
    assert.equal((await patch(url, 10_000, file.subarray(10_000), { 'upload-length': String(file.length) })).status, 204);
    assert.equal((await sys.waitForState(idOf(url), ['complete'])).sha256, sha256(file));
    assert.equal((await create({ 'upload-defer-length': '1', 'upload-length': '5' })).status, 400, 'not both');
  });

  test('checksums: a mismatch is 460 and nothing of the body counts; sha1, sha256 and md5 are checked', async () => {
    const file = randomFile(40_000);
    const url = await created(file.length);
    const digest = (algorithm: string, bytes: Buffer) => createHash(algorithm).update(bytes).digest('base64');
    const wrong = await patch(url, 0, file.subarray(0, 10_000), { 'upload-checksum': `sha256 ${digest('sha256', file.subarray(1, 10_001))}` });
    assert.equal(wrong.status, 460);
    assert.equal((await head(url)).headers.get('upload-offset'), '0', 'nothing counted');
    let offset = 0;
    for (const algorithm of ['sha1', 'sha256', 'md5']) {
      const piece = file.subarray(offset, offset + 10_000);
      const response = await patch(url, offset, piece, { 'upload-checksum': `${algorithm} ${digest(algorithm, piece)}` });
      assert.equal(response.status, 204, algorithm);
      offset += piece.length;
    }
    assert.equal((await patch(url, offset, file.subarray(offset), { 'upload-checksum': 'crc32 AAAA' })).status, 400, 'an unknown algorithm');
  });

  test('a PATCH that breaks off keeps the bytes that arrived, and the client resumes after them', async () => {
    const file = randomFile(4 * 1024 * 1024);
    const url = new URL(await created(file.length));
    await new Promise<void>((resolve) => {
      const request = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'PATCH', headers: { ...V, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0', 'content-length': String(file.length) } });
      request.on('error', () => resolve());
      request.on('close', () => resolve());
      request.write(file.subarray(0, 3 * 1024 * 1024), () => setImmediate(() => request.destroy()));
    });
    const offset = await eventually(async () => Number((await head(url.href)).headers.get('upload-offset')), { accept: (o) => o > 0, what: 'the bytes kept' });
    assert.ok(offset > 0 && offset <= 3 * 1024 * 1024, `kept ${offset} bytes`);
    assert.equal((await patch(url.href, offset, file.subarray(offset))).status, 204);
    assert.equal((await sys.waitForState(idOf(url.href), ['complete'])).sha256, sha256(file));
  });

  test('termination: DELETE answers 204, then the upload is gone (410); an unknown upload is 404', async () => {
    const url = await created(1000);
    assert.equal((await fetch(url, { method: 'DELETE', headers: V })).status, 204);
    assert.equal((await head(url)).status, 410);
    assert.equal((await patch(url, 0, new Uint8Array(10))).status, 410);
    assert.equal((await head(`${base}${'0'.repeat(32)}`)).status, 404);
    assert.equal((await head(`${base}not-an-id`)).status, 404);
  });

  test('X-HTTP-Method-Override turns a POST into a PATCH or a DELETE', async () => {
    const url = await created(10);
    const patched = await fetch(url, { method: 'POST', headers: { ...V, 'x-http-method-override': 'PATCH', 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: new Uint8Array(4) });
    assert.equal(patched.status, 204);
    assert.equal(patched.headers.get('upload-offset'), '4');
    assert.equal((await fetch(url, { method: 'POST', headers: { ...V, 'x-http-method-override': 'DELETE' } })).status, 204);
    assert.equal((await head(url)).status, 410);
  });

  test('a missing or unsupported Tus-Resumable is 412 with Tus-Version', async () => {
    for (const headers of [{}, { 'tus-resumable': '0.2.2' }] as Record<string, string>[]) {
      const response = await fetch(base, { method: 'POST', headers: { ...headers, 'upload-length': '10' } });
      assert.equal(response.status, 412);
      assert.equal(response.headers.get('tus-version'), '1.0.0');
    }
  });

  test('Location follows a TLS-terminating proxy when it is trusted (X-Forwarded-*, Forwarded)', async () => {
    const viaForwarded = await created(10, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'uploads.example.com' });
    assert.match(viaForwarded, /^https:\/\/uploads\.example\.com\/files\/[0-9a-f]{32}$/);
    const viaStandard = await created(10, { forwarded: 'for=1.2.3.4;proto=https;host=cdn.example.org' });
    assert.match(viaStandard, /^https:\/\/cdn\.example\.org\/files\/[0-9a-f]{32}$/);
    const untrusting = await startSystem({ env: { TUS_RELATIVE_LOCATION: 'false' } });
    try {
      const response = await fetch(`${untrusting.urls[0]}/files/`, { method: 'POST', headers: { ...V, 'upload-length': '1', 'x-forwarded-host': 'evil.example' } });
      assert.match(response.headers.get('location')!, /^http:\/\/127\.0\.0\.1:\d+\/files\//, 'forwarded headers are ignored unless TRUST_PROXY');
    } finally {
      await untrusting.stop();
    }
    const relative = await startSystem({ env: { TUS_RELATIVE_LOCATION: 'true' } });
    try {
      const response = await fetch(`${relative.urls[0]}/files/`, { method: 'POST', headers: { ...V, 'upload-length': '1' } });
      assert.match(response.headers.get('location')!, /^\/files\/[0-9a-f]{32}$/);
    } finally {
      await relative.stop();
    }
  });

  test('concatenation: partial uploads, then a final one that is complete once they are, merged by the worker', async () => {
    const parts = [randomFile(70_000), randomFile(5), randomFile(123_456)];
    const urls: string[] = [];
    for (const part of parts) urls.push(await created(part.length, { 'upload-concat': 'partial' }));
    // Two parts complete, one still receiving: the final upload waits.
    for (const [i, part] of parts.entries()) if (i !== 1) assert.equal((await patch(urls[i]!, 0, part)).status, 204);
    const final = await create({ 'upload-concat': `final;${urls.join(' ')}`, 'upload-metadata': `filename ${b64('whole.bin')}` });
    assert.equal(final.status, 201);
    const finalUrl = final.headers.get('location')!;
    const waiting = await head(finalUrl);
    assert.equal(waiting.status, 200);
    assert.equal(waiting.headers.get('upload-offset'), null, 'not complete while a partial is missing');
    assert.match(waiting.headers.get('upload-concat')!, /^final;/);
    assert.equal((await patch(finalUrl, 0, new Uint8Array(1))).status, 403, 'a final upload takes no PATCH');
    assert.equal((await patch(urls[1]!, 0, parts[1]!)).status, 204);
    const whole = Buffer.concat(parts);
    const upload = await sys.waitForState(idOf(finalUrl), ['complete', 'failed']);
    assert.equal(upload.state, 'complete', upload.error);
    assert.equal(upload.sha256, sha256(whole));
    assert.ok((await sys.readPublished(upload)).equals(whole));
    assert.equal((await head(finalUrl)).headers.get('upload-offset'), String(whole.length));

    const notPartial = await created(3);
    assert.equal((await create({ 'upload-concat': `final;${notPartial}` })).status, 400, 'only partial uploads concatenate');
    assert.equal((await create({ 'upload-concat': `final;${base}${'1'.repeat(32)}` })).status, 400, 'unknown partials');
    assert.equal((await create({ 'upload-concat': 'final;https://elsewhere.example/x' })).status, 400, 'uploads of another server');
  });

  test('hostile headers: 4xx, never 5xx, nothing written outside the data directory', async () => {
    const cases: [Record<string, string>, number][] = [
      [{ 'upload-length': '-1' }, 400],
      [{ 'upload-length': '1e3' }, 400],
      [{ 'upload-length': '99999999999999999999' }, 400],
      [{ 'upload-length': String(65 * 1024 * 1024) }, 413],
      [{ 'upload-length': '10', 'upload-metadata': 'filename !!!notbase64' }, 400],
      [{ 'upload-length': '10', 'upload-metadata': `filename ${b64('../../etc/passwd')}` }, 400],
      [{ 'upload-length': '10', 'upload-metadata': `filename ${b64('a\u0000b')}` }, 400],
      [{ 'upload-length': '10', 'upload-metadata': `filename ${b64('x'.repeat(3000))}` }, 400],
      [{ 'upload-length': '10', 'upload-metadata': 'a'.repeat(5000) }, 400],
      [{ 'upload-length': '10', 'upload-metadata': `k ${b64('v')},k ${b64('w')}` }, 400],
      [{ 'upload-length': '10', 'upload-concat': 'sideways' }, 400],
      [{ 'upload-length': '10', 'upload-concat': 'final;' }, 400],
    ];
    for (const [headers, status] of cases) {
      const response = await create(headers);
      assert.equal(response.status, status, `${JSON.stringify(headers).slice(0, 120)}: ${await response.text()}`);
    }
    const url = await created(10);
    for (const offset of ['-1', 'x', '']) {
      const response = await fetch(url, { method: 'PATCH', headers: { ...V, 'content-type': 'application/offset+octet-stream', 'upload-offset': offset }, body: new Uint8Array(2) });
      assert.ok(response.status >= 400 && response.status < 500, `Upload-Offset ${JSON.stringify(offset)}: ${response.status}`);
    }
    assert.equal((await patch(url, 0, new Uint8Array(20))).status, 413, 'past the declared length');
    assert.equal((await fetch(`${base}../../etc/passwd`, { method: 'HEAD', headers: V })).status < 500, true);
    assert.deepEqual((await readdir(sys.sandbox)).filter((name) => name !== 'data'), [], 'nothing outside DATA_DIR');
  });
});
