/**
 * Every class of bad input gets a 4xx with a JSON error that names the problem, never a
 * 5xx, and leaves nothing behind: no file outside DATA_DIR, no temp or chunk file inside.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { sendChunk } from '../helpers/upload-client.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem({ env: { MAX_FILE_SIZE: '1MB', MAX_CHUNK_SIZE: '64KB', MAX_CHUNKS: '100' } });
});
after(() => sys.stop());

type Fields = Record<string, string | undefined>;

interface BadRequest {
  name: string;
  fields?: Fields;
  /** Bytes sent as the chunk; by default as many as CurrentChunkSize says. */
  bytes?: number;
  body?: 'multipart' | 'octet' | 'multipart-without-file' | 'urlencoded';
  status: number;
  code: string;
}

const valid: Fields = {
  resumableChunkNumber: '1',
  resumableChunkSize: '1024',
  resumableCurrentChunkSize: '1024',
  resumableTotalSize: '4096',
  resumableIdentifier: 'bad-input-upload',
  resumableFilename: 'ok.bin',
  resumableRelativePath: 'ok.bin',
  resumableType: '',
};

const cases: BadRequest[] = [
  { name: 'missing chunk number', fields: { resumableChunkNumber: undefined }, status: 400, code: 'missing_field' },
  { name: 'non-numeric chunk number', fields: { resumableChunkNumber: 'one' }, status: 400, code: 'invalid_field' },
  { name: 'negative chunk number', fields: { resumableChunkNumber: '-1' }, status: 400, code: 'invalid_field' },
  { name: 'fractional total size', fields: { resumableTotalSize: '4096.5' }, status: 400, code: 'invalid_field' },
  { name: 'chunk number 0', fields: { resumableChunkNumber: '0' }, status: 400, code: 'invalid_field' },
  { name: 'chunk size 0', fields: { resumableChunkSize: '0' }, status: 400, code: 'invalid_field' },
  { name: 'missing identifier', fields: { resumableIdentifier: undefined }, status: 400, code: 'missing_field' },
  { name: 'missing filename', fields: { resumableFilename: undefined }, status: 400, code: 'missing_field' },
  { name: 'non-numeric total chunks', fields: { resumableTotalChunks: 'many' }, status: 400, code: 'invalid_field' },
  { name: 'chunk number past the end', fields: { resumableChunkNumber: '5' }, status: 400, code: 'chunk_out_of_range' },
  { name: 'chunk size that fits neither rounding', fields: { resumableCurrentChunkSize: '1000' }, status: 400, code: 'chunk_size_mismatch' },
  { name: 'body shorter than CurrentChunkSize (octet)', bytes: 1000, body: 'octet', status: 400, code: 'chunk_size_mismatch' },
  { name: 'body longer than CurrentChunkSize (octet)', bytes: 2000, body: 'octet', status: 400, code: 'chunk_size_mismatch' },
  { name: 'file part shorter than CurrentChunkSize', bytes: 1000, status: 400, code: 'chunk_size_mismatch' },
  { name: 'file part longer than CurrentChunkSize', bytes: 2000, status: 400, code: 'chunk_size_mismatch' },
  { name: 'identifier with ../', fields: { resumableIdentifier: '../../etc/passwd' }, status: 400, code: 'invalid_field' },
  { name: 'absolute identifier', fields: { resumableIdentifier: '/etc/passwd' }, status: 400, code: 'invalid_field' },
  { name: 'NUL byte in identifier', fields: { resumableIdentifier: 'abc\u0000def' }, status: 400, code: 'invalid_field' },
  { name: 'identifier of 10 KB', fields: { resumableIdentifier: 'a'.repeat(10_000) }, status: 400, code: 'invalid_field' },
  { name: 'filename with ../', fields: { resumableFilename: '../../escape.txt' }, status: 400, code: 'invalid_field' },
  { name: 'absolute filename', fields: { resumableFilename: '/etc/passwd' }, status: 400, code: 'invalid_field' },
  { name: 'Windows path filename', fields: { resumableFilename: 'C:\\Windows\\win.ini' }, status: 400, code: 'invalid_field' },
  { name: 'NUL byte in filename', fields: { resumableFilename: 'ok.bin\u0000.exe' }, status: 400, code: 'invalid_field' },
  { name: 'filename ..', fields: { resumableFilename: '..' }, status: 400, code: 'invalid_field' },
  { name: 'relative path climbing out', fields: { resumableRelativePath: 'a/../../b' }, status: 400, code: 'invalid_field' },
  { name: 'absolute relative path', fields: { resumableRelativePath: '/root/b' }, status: 400, code: 'invalid_field' },
  { name: 'total size over MAX_FILE_SIZE', fields: { resumableTotalSize: String(2 * 1024 * 1024) }, status: 400, code: 'file_too_large' },
  {
    name: 'chunk over MAX_CHUNK_SIZE',
    fields: { resumableChunkSize: String(128 * 1024), resumableCurrentChunkSize: String(128 * 1024), resumableTotalSize: String(512 * 1024) },
    status: 400,
    code: 'chunk_too_large',
  },
  {
    name: 'multipart body over MAX_CHUNK_SIZE while CurrentChunkSize lies',
    bytes: 200 * 1024,
    status: 400,
    code: 'chunk_too_large',
  },
  {
    name: 'more chunks than MAX_CHUNKS',
    fields: { resumableChunkSize: '1', resumableCurrentChunkSize: '1', resumableTotalSize: '1000' },
    bytes: 1,
    status: 400,
    code: 'too_many_chunks',
  },
  { name: 'urlencoded body', body: 'urlencoded', status: 415, code: 'unsupported_media_type' },
  { name: 'multipart without a file part', body: 'multipart-without-file', status: 400, code: 'missing_field' },
];

function fieldsOf(overrides: Fields = {}): Record<string, string> {
  const merged = { ...valid, ...overrides };
  return Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

async function send(bad: BadRequest): Promise<Response> {
  const fields = fieldsOf(bad.fields);
  const bytes = new Uint8Array(bad.bytes ?? Number(fields.resumableCurrentChunkSize ?? 0));
  const url = `${sys.urls[0]}/upload`;
  switch (bad.body ?? 'multipart') {
    case 'octet':
      return fetch(`${url}?${new URLSearchParams(fields)}`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    case 'urlencoded':
      return fetch(`${url}?${new URLSearchParams(fields)}`, { method: 'POST', body: new URLSearchParams(fields) });
    default: {
      const form = new FormData();
      for (const [key, value] of Object.entries(fields)) form.append(key, value);
      if (bad.body !== 'multipart-without-file') form.append('file', new Blob([bytes]), 'blob');
      return fetch(url, { method: 'POST', body: form });
    }
  }
}

async function leftovers(): Promise<string[]> {
  const outside = (await readdir(sys.sandbox)).filter((name) => name !== 'data');
  const inside = [
    ...(await readdir(sys.layout.tmpDir)).map((n) => `tmp/${n}`),
    ...(await readdir(sys.layout.chunksDir, { recursive: true })).map((n) => `chunks/${n}`),
    ...(await readdir(sys.layout.filesDir, { recursive: true })).map((n) => `files/${n}`),
  ];
  return [...outside, ...inside];
}

describe('bad input', () => {
  for (const bad of cases) {
    test(`${bad.name}: ${bad.status} ${bad.code}`, async () => {
      const response = await send(bad);
      const body = (await response.json()) as { error?: { code?: string; message?: string } };
      assert.equal(response.status, bad.status, JSON.stringify(body));
      assert.equal(body.error?.code, bad.code);
      assert.ok((body.error?.message ?? '').length > 10, 'the message says what is wrong');
      // formidable removes a part it cut off a moment later; allow it that moment.
      for (let i = 0; i < 50 && (await leftovers()).length > 0; i++) await sleep(10);
      assert.deepEqual(await leftovers(), [], 'nothing written anywhere');
    });
  }

  test('metadata that changes mid-upload is refused and the first metadata stands', async () => {
    const options = { urls: sys.urls, identifier: 'changes-midway', chunkSize: 1024, filename: 'first.bin' };
    const file = Buffer.alloc(4096, 7);
    const chunk = (n: number) => ({ number: n, start: (n - 1) * 1024, end: n * 1024 });
    assert.equal((await sendChunk(sys.urls[0]!, file, chunk(1), options)).status, 200);
    const renamed = await sendChunk(sys.urls[0]!, file, chunk(2), { ...options, filename: 'second.bin' });
    assert.equal(renamed.status, 400);
    assert.equal((renamed.body as { error: { code: string } }).error.code, 'upload_conflict');
    const resized = await sendChunk(sys.urls[0]!, Buffer.alloc(5000), chunk(2), options);
    assert.equal(resized.status, 400);
    assert.equal((await sys.store.readUpload(sys.keyHashOf('changes-midway')))?.filename, 'first.bin');
    assert.equal((await sys.store.readUpload(sys.keyHashOf('changes-midway')))?.received, 1);
  });

  test('an unknown route is a JSON 404 and a wrong verb a JSON 405', async () => {
    const missing = await fetch(`${sys.urls[0]}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
    const wrongVerb = await fetch(`${sys.urls[0]}/upload`, { method: 'DELETE' });
    assert.equal(wrongVerb.status, 405);
    assert.equal(((await wrongVerb.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
  });
});
