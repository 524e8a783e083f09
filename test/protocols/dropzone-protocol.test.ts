/**
 * Dropzone 6.3.5 over raw HTTP (docs/protocols/dropzone.md), against two ingest instances
 * and a worker: `chunking: true` with its six `dz*` fields (0-based index, byte offset,
 * size, chunk size, count), chunks one at a time or in parallel (`parallelChunkUploads`),
 * and files of up to one chunk sent whole with no field at all (the plain-form adapter).
 * Every refusal is a 4xx whose body Dropzone shows (`{ "error": message, "code" }`), the
 * same on every resend (`retryChunks`), never a 5xx.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, shuffle } from '../helpers/upload-client.js';
import { answerOf, assertPublished, assertRefused, inLanes, outsideDataDir, statusOf, uploadRecords, type Answer } from './adapter-checks.js';

const MiB = 1024 * 1024;
const DZ_CHUNK = 2 * MiB;
let sys: TestSystem;

before(async () => {
  sys = await startSystem({ ingestInstances: 2, worker: true, env: { MAX_FILE_SIZE: '64MB', MAX_CHUNK_SIZE: '4MB', MAX_CHUNKS: '1000' } });
});
after(() => sys?.stop());

interface DzFile {
  bytes: Buffer;
  uuid: string;
  name: string;
  chunkSize: number;
}

interface DzChunk {
  index: number;
  start: number;
  end: number;
}

function newFile(size: number, chunkSize = DZ_CHUNK, name = `dz-${size}.bin`): DzFile {
  return { bytes: randomFile(size), uuid: randomUUID(), name, chunkSize };
}

/** Dropzone's chunks: ceil, at least one (a 0-byte file forced into chunks is one chunk of 0 bytes). */
function chunksOf(file: DzFile): DzChunk[] {
  const count = Math.max(1, Math.ceil(file.bytes.length / file.chunkSize));
  return Array.from({ length: count }, (_, index) => ({ index, start: index * file.chunkSize, end: Math.min((index + 1) * file.chunkSize, file.bytes.length) }));
}

function dzFields(file: DzFile, chunk: DzChunk): Record<string, string> {
  return {
    dzuuid: file.uuid,
    dzchunkindex: String(chunk.index),
    dztotalfilesize: String(file.bytes.length),
    dzchunksize: String(file.chunkSize),
    dztotalchunkcount: String(chunksOf(file).length),
    dzchunkbyteoffset: String(chunk.index * file.chunkSize),
  };
}

/** A chunk as Dropzone sends it: the dz* fields, then the part `file` (the file's name, typed application/octet-stream). */
async function sendChunk(url: string, file: DzFile, chunk: DzChunk, overrides: Record<string, string | undefined> = {}, body?: Uint8Array, filename = file.name): Promise<Answer> {
  const form = new FormData();
  const fields = { ...dzFields(file, chunk), ...overrides };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) form.append(key, value);
  form.append('file', new Blob([(body ?? file.bytes.subarray(chunk.start, chunk.end)) as Uint8Array<ArrayBuffer>]), filename);
  return answerOf(await fetch(`${url}/upload`, { method: 'POST', body: form, headers: { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' } }));
}

/** A whole file as Dropzone sends it: just the part `file`, with the file's name and type (and the page's own fields, if any). */
async function sendWhole(url: string, bytes: Uint8Array, name: string, type: string, extra: Record<string, string> = {}): Promise<Answer> {
  const form = new FormData();
  for (const [key, value] of Object.entries(extra)) form.append(key, value);
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), name);
  return answerOf(await fetch(`${url}/upload`, { method: 'POST', body: form, headers: { accept: 'application/json' } }));
}

/** Sends every chunk: in order one at a time (Dropzone's default), or in `lanes` at once in the order given. */
async function upload(file: DzFile, order = chunksOf(file), lanes = 1): Promise<Answer[]> {
  const answers = await inLanes(order, lanes, (chunk, i) => sendChunk(sys.urls[i % sys.urls.length]!, file, chunk));
  for (const answer of answers) assert.equal(answer.status, 200, answer.text);
  return answers;
}

const completions = (answers: Answer[]) => answers.filter((a) => a.body?.outcome === 'completed').length;
/** Dropzone shows `error` as the file's message: a string, with the code beside it. */
const codeOf = (answer: Answer) => {
  assert.equal(typeof answer.body?.error, 'string', `Dropzone shows body.error as text: ${answer.text}`);
  assert.match(answer.headers.get('content-type') ?? '', /application\/json/, 'parsed as JSON by Dropzone');
  return answer.body?.code;
};

describe('Dropzone protocol (chunking: true)', () => {
  test('a few MiB in order, one chunk at a time, alternating instances: one completion, one merge, the bytes published', async () => {
    const file = newFile(5 * MiB + 321);
    const answers = await upload(file);
    assert.deepEqual(answers.map((a) => a.body?.chunkIndex), [0, 1, 2], '0-based');
    assert.deepEqual(answers.map((a) => a.body?.complete), [false, false, true]);
    await assertPublished(sys, file.uuid, file.bytes, completions(answers));
    const status = await statusOf(sys.urls[0]!, file.uuid);
    assert.equal(status.protocol, 'dropzone');
    assert.equal(status.filename, file.name);
    assert.equal(status.totalSize, file.bytes.length);
  });

  test('parallelChunkUploads: chunks out of order and duplicated over two instances, four at a time', async () => {
    const file = newFile(7 * MiB + 5, MiB);
    const chunks = chunksOf(file);
    const answers = await upload(file, shuffle([...chunks, ...chunks]), 4);
    await assertPublished(sys, file.uuid, file.bytes, completions(answers));
  });

  for (const [label, size] of [['2 MiB + 1 byte: two chunks of 2,097,152 and 1 bytes', DZ_CHUNK + 1], ['an exact multiple of the chunk size', 2 * DZ_CHUNK]] as const) {
    test(`${label}`, async () => {
      const file = newFile(size);
      const answers = await upload(file, chunksOf(file).reverse(), 2);
      await assertPublished(sys, file.uuid, file.bytes, completions(answers));
    });
  }

  for (const size of [1, 0]) {
    test(`forceChunking: a ${size}-byte file as one chunk`, async () => {
      const file = newFile(size);
      const answers = await upload(file);
      await assertPublished(sys, file.uuid, file.bytes, completions(answers));
    });
  }

  test('a chunk sent again after completion is answered 200 and changes nothing (retryChunks after a lost answer)', async () => {
    const file = newFile(DZ_CHUNK + 100);
    const answers = await upload(file);
    const again = await sendChunk(sys.urls[1]!, file, chunksOf(file)[0]!);
    assert.equal(again.status, 200);
    assert.equal(again.body?.outcome, 'already_complete');
    await assertPublished(sys, file.uuid, file.bytes, completions(answers));
  });

  test('totals that change mid-upload: 409 upload_conflict, and the first declaration stands', async () => {
    const file = newFile(3 * 1024, 1024);
    const [c0, c1] = chunksOf(file) as [DzChunk, DzChunk];
    assert.equal((await sendChunk(sys.urls[0]!, file, c0)).status, 200);
    // A consistent request in itself (size, count and offsets agree), but not with chunk 0.
    const bigger = { dztotalfilesize: String(4 * 1024), dztotalchunkcount: '4' };
    await assertRefused(sys, () => sendChunk(sys.urls[1]!, file, c1, bigger), 409, 'upload_conflict', codeOf);
    const halved = { dzchunksize: '512', dzchunkbyteoffset: '512', dztotalchunkcount: '6' };
    await assertRefused(sys, () => sendChunk(sys.urls[1]!, file, c1, halved, file.bytes.subarray(512, 1024)), 409, 'upload_conflict', codeOf);
    await assertRefused(sys, () => sendChunk(sys.urls[0]!, file, c1, {}, undefined, 'renamed.bin'), 409, 'upload_conflict', codeOf);
    const upload = await sys.readUpload(file.uuid);
    assert.equal(upload?.totalSize, 3 * 1024);
    assert.equal(upload?.storedRanges, 1);
  });

  test('a refused chunk is refused the same way on every resend (retryChunks: 3 more times), storing nothing', async () => {
    const file = newFile(3 * 1024, 1024);
    const chunk = chunksOf(file)[1]!;
    for (let attempt = 0; attempt < 4; attempt++) {
      await assertRefused(sys, () => sendChunk(sys.urls[attempt % 2]!, file, chunk, { dzchunkbyteoffset: '1000' }), 400, 'invalid_field', codeOf);
    }
  });

  describe('hostile values in every field: a 4xx Dropzone shows, never a 5xx, nothing outside DATA_DIR', () => {
    const file = newFile(4 * 1024, 1024);
    const c1: DzChunk = { index: 1, start: 1024, end: 2048 };
    const cases: [string, Record<string, string | undefined>, number, string, Uint8Array?, string?][] = [
      ['dzchunkbyteoffset disagreeing with index × chunk size', { dzchunkbyteoffset: '1023' }, 400, 'invalid_field'],
      ['dzchunkbyteoffset of chunk 0 for chunk 1', { dzchunkbyteoffset: '0' }, 400, 'invalid_field'],
      ['dztotalchunkcount disagreeing with the size', { dztotalchunkcount: '5' }, 400, 'invalid_field'],
      ['dztotalchunkcount 0', { dztotalchunkcount: '0' }, 400, 'invalid_field'],
      ['dzchunkindex past the last chunk', { dzchunkindex: '4', dzchunkbyteoffset: '4096' }, 400, 'range_out_of_bounds'],
      ['dzchunkindex negative', { dzchunkindex: '-1' }, 400, 'invalid_field'],
      ['dzchunkindex missing', { dzchunkindex: undefined }, 400, 'missing_field'],
      ['dzchunkindex in exponent notation', { dzchunkindex: '1e0' }, 400, 'invalid_field'],
      ['dztotalfilesize past 2^53', { dztotalfilesize: '99999999999999999' }, 400, 'invalid_field'],
      ['dztotalfilesize over MAX_FILE_SIZE', { dztotalfilesize: String(65 * MiB), dztotalchunkcount: String(65 * 1024) }, 413, 'file_too_large'],
      ['dztotalfilesize with a decimal point', { dztotalfilesize: '4096.0' }, 400, 'invalid_field'],
      ['dzchunksize 0', { dzchunksize: '0' }, 400, 'invalid_field'],
      ['dzchunksize over MAX_CHUNK_SIZE', { dzchunksize: String(5 * MiB), dzchunkindex: '0', dzchunkbyteoffset: '0', dztotalchunkcount: '1', dztotalfilesize: String(5 * MiB) }, 413, 'range_too_large'],
      ['more chunks than MAX_CHUNKS', { dzchunksize: '1', dzchunkbyteoffset: '1', dztotalchunkcount: '4096' }, 400, 'too_many_ranges', new Uint8Array(1)],
      ['dzuuid climbing out', { dzuuid: '../../etc/passwd' }, 400, 'invalid_field'],
      ['dzuuid with a backslash', { dzuuid: '..\\..\\win.ini' }, 400, 'invalid_field'],
      ['dzuuid with a NUL byte', { dzuuid: 'a\u0000b' }, 400, 'invalid_field'],
      ['dzuuid with a space', { dzuuid: 'a b' }, 400, 'invalid_field'],
      ['dzuuid of 256 characters', { dzuuid: 'u'.repeat(256) }, 400, 'invalid_field'],
      ['dzuuid missing', { dzuuid: undefined }, 400, 'missing_field'],
      ['a part filename climbing out', {}, 400, 'invalid_field', undefined, '../../escape.txt'],
      ['a Windows path as the part filename', {}, 400, 'invalid_field', undefined, 'C:\\Windows\\win.ini'],
      ['a part filename with a right-to-left override', {}, 400, 'invalid_field', undefined, 'invoice\u202Efdp.exe'],
      ['a part filename with a division slash', {}, 400, 'invalid_field', undefined, 'a\u2215b.txt'],
      ['a part filename ..', {}, 400, 'invalid_field', undefined, '..'],
      ['a part without a filename', {}, 400, 'missing_field', undefined, ''],
      ['a chunk shorter than its place', {}, 400, 'range_size_mismatch', new Uint8Array(1000)],
      ['a chunk longer than its place', {}, 400, 'range_size_mismatch', new Uint8Array(1025)],
    ];
    for (const [name, overrides, status, code, body, filename] of cases) {
      test(`${name}: ${status} ${code}`, async () => {
        await assertRefused(sys, () => sendChunk(sys.urls[0]!, { ...file, uuid: randomUUID() }, c1, overrides, body, filename), status, code, codeOf);
      });
    }

    test('a chunk without its file part: 400 missing_field', async () => {
      await assertRefused(sys, async () => {
        const form = new FormData();
        for (const [key, value] of Object.entries(dzFields({ ...file, uuid: randomUUID() }, c1))) form.append(key, value);
        return answerOf(await fetch(`${sys.urls[0]}/upload`, { method: 'POST', body: form }));
      }, 400, 'missing_field', codeOf);
    });

    test('PATCH with dz fields: 405', async () => {
      const form = new FormData();
      for (const [key, value] of Object.entries(dzFields(file, c1))) form.append(key, value);
      form.append('file', new Blob([new Uint8Array(1024)]), 'x.bin');
      const answer = await answerOf(await fetch(`${sys.urls[0]}/upload`, { method: 'PATCH', body: form }));
      assert.equal(answer.status, 405);
      assert.equal(codeOf(answer), 'method_not_allowed');
    });

    test('after the corpus, nothing outside DATA_DIR', async () => assert.deepEqual(await outsideDataDir(sys), []));
  });
});

describe('whole files, Dropzone without chunking or up to one chunk (the plain-form adapter)', () => {
  for (const [label, size] of [['exactly 2 MiB (not chunked by Dropzone)', DZ_CHUNK], ['1 byte', 1], ['0 bytes', 0]] as const) {
    test(`${label}: stored whole under a new id, published byte for byte`, async () => {
      const bytes = randomFile(size);
      const answer = await sendWhole(sys.urls[size % 2]!, bytes, `whole-${size}.png`, 'image/png');
      assert.equal(answer.status, 200, answer.text);
      const id = String(answer.body?.id);
      assert.match(id, /^[0-9a-f]{32}$/, 'a server-chosen id');
      assert.equal(answer.body?.size, size);
      const upload = await assertPublished(sys, id, bytes, 1);
      assert.equal(upload.type, 'image/png', "the part's type");
      const status = await statusOf(sys.urls[1]!, id);
      assert.equal(status.protocol, 'form');
      assert.equal(status.filename, `whole-${size}.png`);
    });
  }

  test("the page's own fields (Dropzone params, a CSRF token) ride along; the same file twice is two uploads", async () => {
    const bytes = randomFile(10_000);
    const first = await sendWhole(sys.urls[0]!, bytes, 'same.txt', 'text/plain', { csrf: 'abc', album: 'holidays' });
    const second = await sendWhole(sys.urls[1]!, bytes, 'same.txt', 'text/plain');
    assert.equal(first.status, 200, first.text);
    assert.equal(second.status, 200, second.text);
    assert.notEqual(first.body?.id, second.body?.id);
    await assertPublished(sys, String(first.body?.id), bytes, 1);
    await assertPublished(sys, String(second.body?.id), bytes, 1);
  });

  const wholeCases: [string, () => Promise<Answer>, number, string][] = [
    ['a filename climbing out', () => sendWhole(sys.urls[0]!, new Uint8Array(10), '../../escape.txt', 'text/plain'), 400, 'invalid_field'],
    ['an empty filename (no file chosen)', () => sendWhole(sys.urls[0]!, new Uint8Array(0), '', 'application/octet-stream'), 400, 'missing_field'],
    ['a file over MAX_CHUNK_SIZE', () => sendWhole(sys.urls[0]!, new Uint8Array(4 * MiB + 1), 'big.bin', 'application/octet-stream'), 413, 'range_too_large'],
  ];
  for (const [name, send, status, code] of wholeCases) {
    test(`${name}: ${status} ${code}`, async () => void await assertRefused(sys, send, status, code, codeOf));
  }

  test('a NUL byte in the part header: 400 malformed_body from the multipart reader, before any protocol is known', async () => {
    const answer = await assertRefused(sys, () => sendWhole(sys.urls[0]!, new Uint8Array(10), 'a\u0000.txt', 'text/plain'), 400, undefined, () => undefined);
    assert.equal((answer.body?.error as { code: string }).code, 'malformed_body');
  });

  test('a chunk of another protocol missing its key field is refused, never stored as a whole file', async () => {
    const before = await uploadRecords(sys);
    const form = new FormData();
    form.append('resumableIdentifier', 'lost-number');
    form.append('resumableTotalSize', '10');
    form.append('file', new Blob([new Uint8Array(10)]), 'blob');
    const answer = await answerOf(await fetch(`${sys.urls[0]}/upload`, { method: 'POST', body: form }));
    assert.equal(answer.status, 400, answer.text);
    assert.equal((answer.body?.error as { code: string }).code, 'missing_field');
    assert.equal(await uploadRecords(sys), before);
  });
});
