/**
 * Who may upload: with a token secret, every request needs a valid token; uploads are
 * scoped per subject, so the same identifier from two users is two uploads, and one user
 * can neither see nor cancel the other's. CORS answers only configured origins.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { eventually } from '../helpers/eventually.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, protocolFields, randomFile, sha256 } from '../helpers/upload-client.js';

const SECRET = 'an-upload-token-secret-of-32-chars-or-more';

async function token(claims: Record<string, unknown>, secret = SECRET, expiresIn?: string): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (expiresIn) jwt = jwt.setExpirationTime(expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

describe('upload tokens', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem({ worker: true, env: { UPLOAD_TOKEN_SECRET: SECRET } });
  });
  after(() => sys?.stop());

  /** Sends a whole file as one upload, the token in the way `via` names. */
  async function upload(file: Buffer, identifier: string, jwt: string | undefined, via: 'bearer' | 'header' | 'query' | 'body' = 'bearer') {
    const statuses: { status: number; body: any }[] = [];
    for (const chunk of cutChunks(file.length, 64 * 1024)) {
      const fields = protocolFields(file, chunk, { urls: [], identifier, chunkSize: 64 * 1024, filename: 'same-name.bin' });
      const headers: Record<string, string> = {};
      if (jwt && via === 'bearer') headers.authorization = `Bearer ${jwt}`;
      if (jwt && via === 'header') headers['x-upload-token'] = jwt;
      const query = new URLSearchParams(fields);
      if (jwt && via === 'query') query.set('token', jwt);
      const form = new FormData();
      for (const [key, value] of Object.entries(fields)) form.append(key, value);
      if (jwt && via === 'body') form.append('token', jwt);
      form.append('file', new Blob([file.subarray(chunk.start, chunk.end)]), 'blob');
      const response = await fetch(`${sys.urls[0]}/upload?${query}`, { method: 'POST', body: form, headers });
      statuses.push({ status: response.status, body: await response.json() });
    }
    return statuses;
  }

  test('no token, a forged one, or an expired one: 401 and nothing stored', async () => {
    const file = randomFile(1000);
    const forged = await token({ sub: 'mallory' }, 'some-other-secret-that-is-32-chars-long');
    const expired = await token({ sub: 'alice' }, SECRET, '-1 min');
    for (const [jwt, code] of [[undefined, 'token_required'], [forged, 'invalid_token'], [expired, 'invalid_token'], ['not.a.jwt', 'invalid_token']] as const) {
      const [response] = await upload(file, 'refused', jwt);
      assert.equal(response!.status, 401);
      assert.equal(response!.body.error.code, code);
    }
    assert.deepEqual(await sys.redis.keys('*upload:*'), []);
    assert.deepEqual(await readdir(sys.layout.partialDir), [], 'not a byte written before the token was checked');
  });

  test('a multipart body is not stored until the token it carries in a field is checked', async () => {
    // Bodies with a bad token in a field before the file part, and bodies with none at all.
    const forged = await token({ sub: 'mallory' }, 'some-other-secret-that-is-32-chars-long');
    for (const jwt of [forged, undefined]) {
      const form = new FormData();
      const fields = { resumableChunkNumber: '1', resumableChunkSize: '4096', resumableCurrentChunkSize: '4096', resumableTotalSize: '8192', resumableIdentifier: 'early-bytes', resumableFilename: 'e.bin' };
      for (const [key, value] of Object.entries(fields)) form.append(key, value);
      if (jwt) form.append('token', jwt);
      form.append('file', new Blob([new Uint8Array(4096)]), 'blob');
      const response = await fetch(`${sys.urls[0]}/upload`, { method: 'POST', body: form });
      assert.equal(response.status, 401);
    }
    assert.deepEqual(await readdir(sys.layout.partialDir), [], 'nothing written');
  });

  test('two users sending the same identifier get two uploads, and neither sees the other', async () => {
    const [alice, bob] = [await token({ sub: 'alice' }), await token({ sub: 'bob' })];
    const [aliceFile, bobFile] = [randomFile(150_000), randomFile(150_000)];
    const identifier = '150000-same-namebin';
    assert.ok((await upload(aliceFile, identifier, alice, 'bearer')).every((r) => r.status === 200));
    assert.ok((await upload(bobFile, identifier, bob, 'body')).every((r) => r.status === 200));

    const statusFor = async (jwt: string) => {
      const response = await fetch(`${sys.urls[0]}/uploads/${identifier}`, { headers: { authorization: `Bearer ${jwt}` } });
      return response.json() as Promise<Record<string, any>>;
    };
    const [a, b] = await eventually(async () => [await statusFor(alice), await statusFor(bob)], {
      accept: ([x, y]) => x!.state === 'complete' && y!.state === 'complete',
      what: 'both uploads merged',
    });
    assert.equal(a.sha256, sha256(aliceFile));
    assert.equal(b.sha256, sha256(bobFile));
    assert.notEqual(a.path, b.path);
    assert.ok((await readFile(path.join(sys.config.dataDir, a.path))).equals(aliceFile));
    assert.ok((await readFile(path.join(sys.config.dataDir, b.path))).equals(bobFile));

    const carol = await token({ sub: 'carol' });
    const probe = await fetch(`${sys.urls[0]}/uploads/${identifier}`, { headers: { 'x-upload-token': carol } });
    assert.equal(probe.status, 404, 'another subject cannot see it');
    const cancel = await fetch(`${sys.urls[0]}/uploads/${identifier}?token=${carol}`, { method: 'DELETE' });
    assert.equal(cancel.status, 404, 'nor cancel it');
    assert.equal((await statusFor(alice)).state, 'complete');
  });

  test("a token's max_size limits the file; the token may come in the query or a header", async () => {
    const small = await token({ sub: 'dave', max_size: 100_000 });
    const [tooBig] = await upload(randomFile(150_000), 'dave-big', small, 'query');
    assert.equal(tooBig!.status, 400);
    assert.equal(tooBig!.body.error.code, 'file_too_large');
    assert.ok((await upload(randomFile(90_000), 'dave-ok', small, 'header')).every((r) => r.status === 200));
  });
});

describe('CORS', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem({ env: { CORS_ORIGINS: 'https://app.example.com', CORS_CREDENTIALS: 'true' } });
  });
  after(() => sys?.stop());

  const preflight = (origin: string) =>
    fetch(`${sys.urls[0]}/upload`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-upload-token' },
    });

  test('a preflight from an allowed origin is answered with that exact origin and credentials', async () => {
    const response = await preflight('https://app.example.com');
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(response.headers.get('access-control-allow-credentials'), 'true');
    // resumable.js and flow.js may send chunks with PUT or PATCH (uploadMethod).
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) assert.match(response.headers.get('access-control-allow-methods') ?? '', new RegExp(`\\b${method}\\b`));
    assert.match(response.headers.get('access-control-allow-headers') ?? '', /X-Upload-Token/i);
  });

  test('any other origin gets no CORS headers', async () => {
    const response = await preflight('https://evil.example.net');
    assert.equal(response.headers.get('access-control-allow-origin'), null);
    const get = await fetch(`${sys.urls[0]}/uploads/x`, { headers: { origin: 'https://evil.example.net' } });
    assert.equal(get.headers.get('access-control-allow-origin'), null);
  });

  test('by default nothing beyond the same origin is allowed', async () => {
    const plain = await startSystem();
    try {
      const response = await fetch(`${plain.urls[0]}/upload`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      });
      assert.equal(response.headers.get('access-control-allow-origin'), null);
    } finally {
      await plain.stop();
    }
  });
});
