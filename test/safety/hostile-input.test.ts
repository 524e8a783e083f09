/**
 * A corpus of hostile and malformed requests. Each gets its documented answer (a 4xx
 * with a JSON error naming the problem, or a 200 where the protocol tolerates it), never
 * a 5xx, and nothing appears outside DATA_DIR. A refused request counts nothing: it
 * creates no upload, and any bytes it wrote before it was found out belong to no upload
 * and go with the next sweep.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { sendChunk } from '../helpers/upload-client.js';

let sys: TestSystem;
let counter = 0;
before(async () => {
  sys = await startSystem({ worker: true, env: { MAX_FILE_SIZE: '1MB', MAX_CHUNK_SIZE: '64KB', MAX_CHUNKS: '100' } });
});
after(() => sys?.stop());

type Fields = Record<string, string | undefined>;
interface Answer {
  status: number;
  body: { error?: { code?: string; message?: string }; outcome?: string } | undefined;
}

/** A valid first chunk of a 4 KiB file in 1 KiB chunks, with a fresh identifier. */
function validFields(overrides: Fields = {}): Record<string, string> {
  const merged: Fields = {
    resumableChunkNumber: '1', resumableChunkSize: '1024', resumableCurrentChunkSize: '1024', resumableTotalSize: '4096',
    resumableIdentifier: `hostile-${counter++}`, resumableFilename: 'ok.bin', resumableRelativePath: 'ok.bin', resumableType: '',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

function multipart(overrides: Fields = {}, bytes?: number, extra: (form: FormData) => void = () => undefined) {
  return async (): Promise<Answer> => {
    const fields = validFields(overrides);
    const form = new FormData();
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    extra(form);
    form.append('file', new Blob([new Uint8Array(bytes ?? Number(fields.resumableCurrentChunkSize ?? 0))]), 'blob');
    return answer(await fetch(`${sys.urls[0]}/upload`, { method: 'POST', body: form }));
  };
}

function octet(overrides: Fields = {}, bytes?: number, contentType = 'application/octet-stream', method = 'POST') {
  return async (): Promise<Answer> => {
    const fields = validFields(overrides);
    const body = new Uint8Array(bytes ?? Number(fields.resumableCurrentChunkSize ?? 0));
    return answer(await fetch(`${sys.urls[0]}/upload?${new URLSearchParams(fields)}`, { method, body, headers: { 'content-type': contentType } }));
  };
}

function query(search: string, method = 'POST', body: Uint8Array = new Uint8Array(1024)) {
  return async (): Promise<Answer> =>
    answer(await fetch(`${sys.urls[0]}/upload?${search}`, { method, body: method === 'GET' ? undefined : body, headers: { 'content-type': 'application/octet-stream' } }));
}

/** A request written by hand on a socket, for what fetch will not send. */
function raw(head: Record<string, string>, pieces: (string | Buffer)[], pathAndQuery = '/upload') {
  return () =>
    new Promise<Answer>((resolve, reject) => {
      const url = new URL(sys.urls[0]!);
      const request = http.request({ host: url.hostname, port: url.port, method: 'POST', path: pathAndQuery, headers: head }, (response) => {
        let text = '';
        response.on('data', (d: Buffer) => (text += d.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : undefined }));
      });
      request.on('error', reject);
      for (const piece of pieces) request.write(piece);
      request.end();
    });
}

function truncatedMultipart(): () => Promise<Answer> {
  const boundary = 'chunkyardboundary';
  const fields = validFields();
  const parts = Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  const body = Buffer.concat([
    Buffer.from(parts.join('')),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="blob"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    Buffer.alloc(500),
  ]);
  return raw({ 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) }, [body]);
}

interface Case {
  name: string;
  send: () => Promise<Answer>;
  status: number;
  code?: string;
}

const MANY = 'x'.repeat(300);
const cases: Case[] = [
  // Missing and malformed numbers
  { name: 'missing chunk number', send: multipart({ resumableChunkNumber: undefined }), status: 400, code: 'missing_field' },
  { name: 'missing total size', send: octet({ resumableTotalSize: undefined }), status: 400, code: 'missing_field' },
  { name: 'non-numeric chunk number', send: multipart({ resumableChunkNumber: 'one' }), status: 400, code: 'invalid_field' },
  { name: 'negative chunk number', send: multipart({ resumableChunkNumber: '-1' }), status: 400, code: 'invalid_field' },
  { name: 'exponent notation', send: multipart({ resumableTotalSize: '4e3' }), status: 400, code: 'invalid_field' },
  { name: 'hexadecimal number', send: multipart({ resumableChunkSize: '0x400' }), status: 400, code: 'invalid_field' },
  { name: 'number with spaces', send: multipart({ resumableChunkNumber: ' 1' }), status: 400, code: 'invalid_field' },
  { name: 'fractional size', send: multipart({ resumableTotalSize: '4096.5' }), status: 400, code: 'invalid_field' },
  { name: 'a number past 2^53', send: multipart({ resumableTotalSize: '99999999999999999' }), status: 400, code: 'invalid_field' },
  { name: 'chunk number 0', send: multipart({ resumableChunkNumber: '0' }), status: 400, code: 'invalid_field' },
  { name: 'chunk size 0', send: multipart({ resumableChunkSize: '0' }), status: 400, code: 'invalid_field' },
  { name: 'non-numeric total chunks', send: multipart({ resumableTotalChunks: 'many' }), status: 400, code: 'invalid_field' },
  // Geometry
  { name: 'chunk number past the end', send: multipart({ resumableChunkNumber: '5' }), status: 400, code: 'chunk_out_of_range' },
  { name: 'chunk 2 of a one-chunk file', send: multipart({ resumableChunkNumber: '2', resumableTotalSize: '1024' }), status: 400, code: 'chunk_out_of_range' },
  { name: 'a size that fits neither rounding', send: multipart({ resumableCurrentChunkSize: '1000' }, 1000), status: 400, code: 'chunk_size_mismatch' },
  { name: 'CurrentChunkSize lies low (octet)', send: octet({}, 1000), status: 400, code: 'chunk_size_mismatch' },
  { name: 'CurrentChunkSize lies high (octet)', send: octet({}, 2000), status: 400, code: 'chunk_size_mismatch' },
  { name: 'CurrentChunkSize lies low (multipart)', send: multipart({}, 1000), status: 400, code: 'chunk_size_mismatch' },
  { name: 'CurrentChunkSize lies high (multipart)', send: multipart({}, 2000), status: 400, code: 'chunk_size_mismatch' },
  {
    name: 'a chunked body longer than CurrentChunkSize',
    send: raw({ 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, [Buffer.alloc(1024), Buffer.alloc(1024)], `/upload?${new URLSearchParams(validFields())}`),
    status: 400,
    code: 'chunk_size_mismatch',
  },
  // Limits
  { name: 'total size over MAX_FILE_SIZE', send: multipart({ resumableTotalSize: String(2 * 1024 * 1024) }), status: 400, code: 'file_too_large' },
  {
    name: 'chunk over MAX_CHUNK_SIZE',
    send: octet({ resumableChunkSize: String(128 * 1024), resumableCurrentChunkSize: String(128 * 1024), resumableTotalSize: String(512 * 1024) }),
    status: 400,
    code: 'chunk_too_large',
  },
  { name: 'multipart body over MAX_CHUNK_SIZE while CurrentChunkSize lies', send: multipart({}, 200 * 1024), status: 400, code: 'chunk_too_large' },
  {
    name: 'more chunks than MAX_CHUNKS',
    send: multipart({ resumableChunkSize: '1', resumableCurrentChunkSize: '1', resumableTotalSize: '1000' }, 1),
    status: 400,
    code: 'too_many_chunks',
  },
  // Identifiers
  { name: 'identifier with ../', send: multipart({ resumableIdentifier: '../../etc/passwd' }), status: 400, code: 'invalid_field' },
  { name: 'absolute identifier', send: multipart({ resumableIdentifier: '/etc/passwd' }), status: 400, code: 'invalid_field' },
  { name: 'identifier with a backslash', send: multipart({ resumableIdentifier: '..\\..\\win.ini' }), status: 400, code: 'invalid_field' },
  { name: 'NUL byte in identifier', send: multipart({ resumableIdentifier: 'abc\u0000def' }), status: 400, code: 'invalid_field' },
  { name: 'newline in identifier', send: octet({ resumableIdentifier: 'abc\ndef' }), status: 400, code: 'invalid_field' },
  { name: 'identifier with a space', send: multipart({ resumableIdentifier: 'my file' }), status: 400, code: 'invalid_field' },
  { name: 'fullwidth look-alike identifier', send: multipart({ resumableIdentifier: 'ｒｅｐｏｒｔ' }), status: 400, code: 'invalid_field' },
  { name: 'Cyrillic look-alike identifier', send: multipart({ resumableIdentifier: '4096-rероrt' }), status: 400, code: 'invalid_field' },
  { name: 'identifier of 10 KB', send: multipart({ resumableIdentifier: 'a'.repeat(10_000) }), status: 400, code: 'invalid_field' },
  { name: 'identifier of 256 characters', send: multipart({ resumableIdentifier: 'a'.repeat(256) }), status: 400, code: 'invalid_field' },
  { name: 'identifier of 255 characters is fine', send: multipart({ resumableIdentifier: `${counter}`.padEnd(255, 'b') }), status: 200 },
  // File names and paths
  { name: 'filename with ../', send: multipart({ resumableFilename: '../../escape.txt' }), status: 400, code: 'invalid_field' },
  { name: 'absolute filename', send: multipart({ resumableFilename: '/etc/passwd' }), status: 400, code: 'invalid_field' },
  { name: 'Windows path filename', send: multipart({ resumableFilename: 'C:\\Windows\\win.ini' }), status: 400, code: 'invalid_field' },
  { name: 'NUL byte in filename', send: multipart({ resumableFilename: 'ok.bin\u0000.exe' }), status: 400, code: 'invalid_field' },
  { name: 'filename ..', send: multipart({ resumableFilename: '..' }), status: 400, code: 'invalid_field' },
  { name: 'fullwidth dots that fold to ..', send: multipart({ resumableFilename: '．．' }), status: 400, code: 'invalid_field' },
  { name: 'fullwidth solidus that folds to /', send: multipart({ resumableFilename: 'a／b.txt' }), status: 400, code: 'invalid_field' },
  { name: 'right-to-left override in filename', send: multipart({ resumableFilename: 'invoice\u202Efdp.exe' }), status: 400, code: 'invalid_field' },
  { name: 'zero-width space in filename', send: multipart({ resumableFilename: 'repo\u200Brt.pdf' }), status: 400, code: 'invalid_field' },
  { name: 'filename of 256 bytes', send: multipart({ resumableFilename: 'é'.repeat(128) }), status: 400, code: 'invalid_field' },
  { name: 'relative path climbing out', send: multipart({ resumableRelativePath: 'a/../../b' }), status: 400, code: 'invalid_field' },
  { name: 'absolute relative path', send: multipart({ resumableRelativePath: '/root/b' }), status: 400, code: 'invalid_field' },
  { name: 'relative path with a drive letter', send: multipart({ resumableRelativePath: 'C:/x/y' }), status: 400, code: 'invalid_field' },
  { name: 'relative path of 5 KB', send: multipart({ resumableRelativePath: `${MANY}/`.repeat(17) + 'f' }), status: 400, code: 'invalid_field' },
  { name: 'control characters in type', send: multipart({ resumableType: 'text/plain\r\nX-Evil: 1' }), status: 400, code: 'invalid_field' },
  { name: 'decomposed accents are fine', send: multipart({ resumableFilename: 'cafe\u0301.txt', resumableRelativePath: 'cafe\u0301.txt' }), status: 200 },
  // Repeated fields: the first value counts (resumable.js sends fields in body and query)
  { name: 'a field repeated in the query', send: query(`${new URLSearchParams(validFields())}&resumableChunkNumber=3`), status: 200 },
  {
    name: 'a field repeated in the body',
    send: multipart({}, undefined, (form) => form.append('resumableChunkNumber', '4')),
    status: 200,
  },
  // Content types and bodies
  { name: 'urlencoded body', send: octet({}, undefined, 'application/x-www-form-urlencoded'), status: 415, code: 'unsupported_media_type' },
  { name: 'multipart/mixed body', send: octet({}, undefined, 'multipart/mixed; boundary=x'), status: 415, code: 'unsupported_media_type' },
  { name: 'multipart without a boundary', send: raw({ 'content-type': 'multipart/form-data', 'content-length': '10' }, ['0123456789']), status: 400, code: 'malformed_body' },
  { name: 'a truncated multipart body', send: truncatedMultipart(), status: 400, code: 'malformed_body' },
  { name: 'multipart without a file part', send: async () => {
    const form = new FormData();
    for (const [k, v] of Object.entries(validFields())) form.append(k, v);
    return answer(await fetch(`${sys.urls[0]}/upload`, { method: 'POST', body: form }));
  }, status: 400, code: 'missing_field' },
  { name: 'two file parts', send: multipart({}, undefined, (form) => form.append('file', new Blob([new Uint8Array(1024)]), 'x')), status: 400, code: 'malformed_body' },
  { name: 'a raw chunk labelled with its file type (flow.js octet)', send: octet({}, undefined, 'text/plain'), status: 200 },
  { name: 'a raw chunk with no content type', send: raw({ 'content-length': '1024' }, [Buffer.alloc(1024)], `/upload?${new URLSearchParams(validFields())}`), status: 200 },
  { name: 'PATCH, as uploadMethod allows', send: octet({}, undefined, 'application/octet-stream', 'PATCH'), status: 200 },
  { name: 'a test GET with missing fields', send: query('resumableChunkNumber=1', 'GET'), status: 400, code: 'missing_field' },
  { name: 'PROPFIND on /upload', send: async () => answer(await fetch(`${sys.urls[0]}/upload`, { method: 'PROPFIND' })), status: 405, code: 'method_not_allowed' },
  {
    name: 'a name with a look-alike slash (division slash)',
    send: multipart({ resumableFilename: 'a\u2215b.txt' }),
    status: 400,
    code: 'invalid_field',
  },
  { name: 'a name with a fraction slash', send: multipart({ resumableFilename: 'a\u2044b.txt' }), status: 400, code: 'invalid_field' },
  { name: 'a name with a big solidus', send: multipart({ resumableFilename: 'a\u29f8b.txt' }), status: 400, code: 'invalid_field' },
  { name: 'a Persian name with a zero-width non-joiner is fine', send: multipart({ resumableFilename: 'می\u200cخواهم.txt', resumableRelativePath: undefined }), status: 200 },
  { name: 'an emoji sequence with a zero-width joiner is fine', send: multipart({ resumableFilename: '👩\u200d💻 notes.txt', resumableRelativePath: undefined }), status: 200 },
  { name: 'a soft hyphen is fine', send: multipart({ resumableFilename: 'Donau\u00addampf.txt', resumableRelativePath: undefined }), status: 200 },
];

async function outside(): Promise<string[]> {
  return (await readdir(sys.sandbox)).filter((name) => name !== 'data');
}

async function uploadRecords(): Promise<number> {
  return (await sys.redis.keys(`${sys.config.REDIS_PREFIX}:upload:*`)).filter((key) => !key.includes(':ranges')).length;
}

describe(`hostile input corpus (${cases.length} requests)`, () => {
  test('the corpus has at least 50 requests', () => assert.ok(cases.length >= 50));

  for (const hostile of cases) {
    test(`${hostile.name}: ${hostile.status}${hostile.code ? ` ${hostile.code}` : ''}`, async () => {
      const recordsBefore = await uploadRecords();
      const { status, body } = await hostile.send();
      assert.ok(status < 500, `never a 5xx (got ${status})`);
      assert.equal(status, hostile.status, JSON.stringify(body));
      if (hostile.code) {
        assert.equal(body?.error?.code, hostile.code);
        assert.ok((body?.error?.message ?? '').length > 10, 'the message says what is wrong');
        assert.equal(await uploadRecords(), recordsBefore, 'a refused request creates no upload');
        await sys.sweep();
        assert.deepEqual(await sys.unownedDataFiles(), [], 'what a refused request wrote goes with the sweep');
      }
      assert.deepEqual(await outside(), [], 'nothing written outside DATA_DIR');
    });
  }

  test('PROPFIND on /upload says which methods are allowed', async () => {
    const response = await fetch(`${sys.urls[0]}/upload`, { method: 'PROPFIND' });
    assert.equal(response.status, 405);
    assert.match(response.headers.get('allow') ?? '', /POST/);
  });

  test('an over-long request line is refused by the HTTP parser with a 4xx', async () => {
    const response = await fetch(`${sys.urls[0]}/upload?${'a='.padEnd(40_000, 'b')}`);
    assert.equal(response.status, 431);
  });

  test('metadata that changes mid-upload is refused and the first metadata stands', async () => {
    const options = { urls: sys.urls, identifier: 'changes-midway', chunkSize: 1024, filename: 'first.bin' };
    const file = Buffer.alloc(4096, 7);
    const chunk = (n: number) => ({ number: n, start: (n - 1) * 1024, end: n * 1024 });
    assert.equal((await sendChunk(sys.urls[0]!, file, chunk(1), options)).status, 200);
    const renamed = await sendChunk(sys.urls[0]!, file, chunk(2), { ...options, filename: 'second.bin' });
    assert.equal(renamed.status, 400);
    assert.equal((renamed.body as { error: { code: string } }).error.code, 'upload_conflict');
    assert.equal((await sendChunk(sys.urls[0]!, Buffer.alloc(5000), chunk(2), options)).status, 400);
    const upload = await sys.readUpload('changes-midway');
    assert.equal(upload?.name, 'first.bin');
    assert.equal(upload?.storedRanges, 1);
  });

  test('a published name is sanitized inside its own folder', async () => {
    const file = Buffer.from('hello');
    const name = ' .hidden <name>:"x"|?*.txt. ';
    const response = await sendChunk(sys.urls[0]!, file, { number: 1, start: 0, end: 5 }, { urls: sys.urls, identifier: 'sanitized', chunkSize: 1024, filename: name });
    assert.equal(response.status, 200);
    const upload = await sys.waitForState('sanitized', ['complete']);
    assert.equal(path.basename(upload.path!), 'hidden _name___x____.txt');
    assert.equal(path.dirname(upload.path!), `files/${upload.uploadId}`);
    assert.equal((await readFile(path.join(sys.config.dataDir, upload.path!))).toString(), 'hello');
  });

  test('an unknown route is a JSON 404', async () => {
    const missing = await fetch(`${sys.urls[0]}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  });
});
