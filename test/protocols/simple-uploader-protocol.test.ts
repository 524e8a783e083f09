/**
 * simple-uploader.js 0.6.0 over raw HTTP (docs/protocols/simple-uploader.md), against two
 * ingest instances and a worker: resumable.js's fields without a prefix, 1-based chunks in
 * either rounding, test GETs (200 stored, 204 not), the `uploaded_chunks` list its
 * `checkChunkUploadedByResponse` mode reads from chunk 1's answers, and its statuses: a
 * request that can never be valid is a 415 and a gone upload a 404 (the two 4xx it treats
 * as permanent), never a 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, shuffle, type ChunkSpec } from '../helpers/upload-client.js';
import { answerOf, assertPublished, assertRefused, inLanes, outsideDataDir, statusOf, type Answer } from './adapter-checks.js';

let sys: TestSystem;
let counter = 0;

before(async () => {
  sys = await startSystem({ ingestInstances: 2, worker: true, env: { MAX_FILE_SIZE: '64MB', MAX_CHUNK_SIZE: '4MB', MAX_CHUNKS: '1000' } });
});
after(() => sys?.stop());

interface FileSpec {
  bytes: Buffer;
  identifier: string;
  filename: string;
  chunkSize: number;
  forceChunkSize?: boolean;
}

/** The eight fields simple-uploader.js sends with each chunk and each test, in its order. */
function fieldsOf(file: FileSpec, chunk: ChunkSpec, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const merged: Record<string, string | undefined> = {
    chunkNumber: String(chunk.number),
    chunkSize: String(file.chunkSize),
    currentChunkSize: String(chunk.end - chunk.start),
    totalSize: String(file.bytes.length),
    identifier: file.identifier,
    filename: file.filename,
    relativePath: file.filename,
    totalChunks: String(cutChunks(file.bytes.length, file.chunkSize, file.forceChunkSize).length),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
}

/** A chunk POST as simple-uploader.js sends it: the fields, then the file part `file` (the file's name and type). */
async function post(url: string, file: FileSpec, chunk: ChunkSpec, overrides: Record<string, string | undefined> = {}, body?: Uint8Array): Promise<Answer> {
  const form = new FormData();
  for (const [key, value] of Object.entries(fieldsOf(file, chunk, overrides))) form.append(key, value);
  const bytes = body ?? file.bytes.subarray(chunk.start, chunk.end);
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/x-test' }), file.filename);
  return answerOf(await fetch(`${url}/upload`, { method: 'POST', body: form }));
}

/** The test GET before a chunk. */
async function probe(url: string, file: FileSpec, chunk: ChunkSpec, overrides: Record<string, string | undefined> = {}): Promise<Answer> {
  return answerOf(await fetch(`${url}/upload?${new URLSearchParams(fieldsOf(file, chunk, overrides))}`));
}

function newFile(size: number, chunkSize: number, extra: Partial<FileSpec> = {}): FileSpec {
  const n = counter++;
  return { bytes: randomFile(size), identifier: `${size}-su${n}bin`, filename: `su-${n}.bin`, chunkSize, ...extra };
}

const chunksOf = (file: FileSpec) => cutChunks(file.bytes.length, file.chunkSize, file.forceChunkSize);
const completions = (answers: Answer[]) => answers.filter((a) => a.body?.outcome === 'completed').length;
const codeOf = (answer: Answer) => (answer.body?.error as { code?: string } | undefined)?.code;

/** Uploads every chunk the way the client would, each after its test GET, `lanes` at a time, round-robin over the instances. */
async function upload(file: FileSpec, options: { order?: ChunkSpec[]; lanes?: number } = {}): Promise<Answer[]> {
  const order = options.order ?? chunksOf(file);
  const answers = await inLanes(order, options.lanes ?? 3, async (chunk, i) => {
    const url = sys.urls[i % sys.urls.length]!;
    const tested = await probe(url, file, chunk);
    assert.ok(tested.status === 200 || tested.status === 204, `test GET of chunk ${chunk.number}: ${tested.status} ${tested.text}`);
    return post(url, file, chunk);
  });
  for (const answer of answers) assert.equal(answer.status, 200, answer.text);
  return answers;
}

describe('simple-uploader.js protocol', () => {
  test('a few MiB, chunks shuffled and duplicated over two instances, three at a time: one completion, one merge, the bytes published', async () => {
    const file = newFile(3 * 1024 * 1024 + 512 * 1024 + 123, 1024 * 1024);
    const chunks = chunksOf(file);
    assert.equal(chunks.length, 3, 'floor rounding: the last chunk holds 1.5 MiB + 123 bytes');
    const answers = await upload(file, { order: shuffle([...chunks, ...chunks]), lanes: 3 });
    await assertPublished(sys, file.identifier, file.bytes, completions(answers));
    assert.ok(answers.some((a) => a.body?.outcome === 'duplicate' || a.body?.outcome === 'already_complete'), 'duplicates answered 200');
    const status = await statusOf(sys.urls[1]!, file.identifier);
    assert.equal(status.protocol, 'simple-uploader');
    assert.equal(status.filename, file.filename);
    assert.equal(status.state, 'complete');
  });

  for (const [label, size, chunkSize, force] of [
    ['0 B: one chunk of 0 bytes', 0, 1024, false],
    ['1 B', 1, 1024, false],
    ['an exact multiple of the chunk size', 8 * 1024, 1024, false],
    ['forceChunkSize (ceil): a short last chunk', 5 * 1024 + 7, 1024, true],
    ['floor: a last chunk of almost two chunks', 6 * 1024 - 1, 1024, false],
  ] as const) {
    test(`${label}: published byte for byte`, async () => {
      const file = newFile(size, chunkSize, { forceChunkSize: force });
      const answers = await upload(file, { order: chunksOf(file).reverse(), lanes: 2 });
      await assertPublished(sys, file.identifier, file.bytes, completions(answers));
    });
  }

  test('test GETs: 204 for a chunk not stored, 200 once it is; chunk 1 answers list every stored chunk (uploaded_chunks)', async () => {
    const file = newFile(5 * 1024, 1024);
    const [c1, c2, c3, c4, c5] = chunksOf(file) as [ChunkSpec, ChunkSpec, ChunkSpec, ChunkSpec, ChunkSpec];
    const [a, b] = sys.urls as [string, string];
    const fresh = await probe(a, file, c1);
    assert.equal(fresh.status, 204);
    assert.equal(fresh.text, '', 'a 204 has no body');

    // A first visit stored chunks 2 and 4 (on two instances), then the page was reloaded.
    assert.equal((await post(a, file, c2)).status, 200);
    assert.equal((await post(b, file, c4)).status, 200);
    assert.equal((await probe(b, file, c2)).status, 200, 'stored chunk: 200, not uploaded again');
    assert.equal((await probe(a, file, c3)).status, 204);

    // checkChunkUploadedByResponse: chunk 1's test is a 204, so chunk 1's POST answer lists them all.
    assert.equal((await probe(b, file, c1)).status, 204);
    const first = await post(b, file, c1);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body?.uploaded_chunks, [1, 2, 4], 'chunk 1 itself, 2 and 4, from 1');
    const stored = await probe(a, file, c1);
    assert.equal(stored.status, 200);
    assert.deepEqual(stored.body?.uploaded_chunks, [1, 2, 4], "chunk 1's test GET lists them too");
    assert.equal((await probe(a, file, c2)).body?.uploaded_chunks, undefined, 'only chunk 1 answers carry the list');

    const last = [await post(a, file, c3), await post(b, file, c5)];
    assert.equal((await post(a, file, c2)).body?.outcome, 'already_complete', 'a chunk sent again after completion');
    await assertPublished(sys, file.identifier, file.bytes, completions(last));
    // Complete: the stored ranges are gone with the merge, but every chunk counts as stored.
    const done = await probe(b, file, c1);
    assert.equal(done.status, 200);
    assert.deepEqual(done.body?.uploaded_chunks, [1, 2, 3, 4, 5]);
    assert.equal((await probe(a, file, c4)).status, 200);
  });

  test('totals that change mid-upload are refused with 415 upload_conflict; the first declaration stands', async () => {
    const file = newFile(4 * 1024, 1024);
    const [c1, c2] = chunksOf(file) as [ChunkSpec, ChunkSpec];
    assert.equal((await post(sys.urls[0]!, file, c1)).status, 200);
    for (const [field, value] of [['totalSize', String(5 * 1024)], ['chunkSize', '2048'], ['filename', 'other.bin'], ['relativePath', 'dir/su.bin']] as const) {
      const overrides: Record<string, string> = { [field]: value };
      if (field === 'chunkSize') Object.assign(overrides, { currentChunkSize: '2048' });
      const body = field === 'chunkSize' ? file.bytes.subarray(2048, 4096) : undefined;
      const refused = await assertRefused(sys, () => post(sys.urls[1]!, file, c2, overrides, body), 415, 'upload_conflict', codeOf);
      assert.match(String((refused.body?.error as { message: string }).message), /first request/);
      assert.equal((await probe(sys.urls[0]!, file, c2, overrides)).status, 415, `the test GET with the changed ${field} stops the file too`);
    }
    const upload = await sys.readUpload(file.identifier);
    assert.equal(upload?.totalSize, file.bytes.length);
    assert.equal(upload?.storedRanges, 1);
  });

  test('a cancelled upload: its test GETs and chunks get 404, which stops the whole file', async () => {
    const file = newFile(3 * 1024, 1024);
    const [c1, c2] = chunksOf(file) as [ChunkSpec, ChunkSpec];
    assert.equal((await post(sys.urls[0]!, file, c1)).status, 200);
    assert.equal((await fetch(`${sys.urls[1]}/uploads/${file.identifier}`, { method: 'DELETE' })).status, 200);
    const tested = await probe(sys.urls[1]!, file, c2);
    assert.equal(tested.status, 404, tested.text);
    assert.equal(codeOf(tested), 'upload_cancelled');
    const sent = await post(sys.urls[0]!, file, c2);
    assert.equal(sent.status, 404, sent.text);
  });

  describe('hostile values in every field: 415 (stops the file, test GET or chunk), never a 5xx, nothing outside DATA_DIR', () => {
    const file = newFile(4 * 1024, 1024);
    const c1: ChunkSpec = { number: 1, start: 0, end: 1024 };
    const cases: [string, Record<string, string | undefined>, string][] = [
      ['chunkNumber 0 (numbers are from 1)', { chunkNumber: '0' }, 'invalid_field'],
      ['chunkNumber missing', { chunkNumber: '' }, 'missing_field'],
      ['chunkNumber negative', { chunkNumber: '-1' }, 'invalid_field'],
      ['chunkNumber past the last chunk', { chunkNumber: '5' }, 'chunk_out_of_range'],
      ['chunkNumber in exponent notation', { chunkNumber: '1e0' }, 'invalid_field'],
      ['chunkSize 0', { chunkSize: '0' }, 'invalid_field'],
      ['chunkSize hexadecimal', { chunkSize: '0x400' }, 'invalid_field'],
      ['chunkSize missing', { chunkSize: undefined }, 'missing_field'],
      ['currentChunkSize that fits no rounding', { currentChunkSize: '1000' }, 'chunk_size_mismatch'],
      ['currentChunkSize with a sign', { currentChunkSize: '+1024' }, 'invalid_field'],
      ['totalSize past 2^53', { totalSize: '99999999999999999' }, 'invalid_field'],
      ['totalSize over MAX_FILE_SIZE', { totalSize: String(65 * 1024 * 1024) }, 'file_too_large'],
      ['totalSize fractional', { totalSize: '4096.5' }, 'invalid_field'],
      ['more chunks than MAX_CHUNKS', { chunkSize: '1', currentChunkSize: '1', totalSize: '5000' }, 'too_many_chunks'],
      ['identifier climbing out', { identifier: '../../etc/passwd' }, 'invalid_field'],
      ['identifier with a backslash', { identifier: '..\\win.ini' }, 'invalid_field'],
      ['identifier with a NUL byte', { identifier: 'a\u0000b' }, 'invalid_field'],
      ['identifier of 300 characters', { identifier: 'x'.repeat(300) }, 'invalid_field'],
      ['identifier missing', { identifier: '' }, 'missing_field'],
      ['filename climbing out', { filename: '../../escape.txt' }, 'invalid_field'],
      ['filename absolute', { filename: '/etc/passwd' }, 'invalid_field'],
      ['filename with a right-to-left override', { filename: 'invoice\u202Efdp.exe' }, 'invalid_field'],
      ['filename with a fullwidth solidus', { filename: 'a\uFF0Fb.txt' }, 'invalid_field'],
      ['filename ..', { filename: '..' }, 'invalid_field'],
      ['filename missing', { filename: '' }, 'missing_field'],
      ['relativePath climbing out', { relativePath: 'a/../../b' }, 'invalid_field'],
      ['relativePath with a drive letter', { relativePath: 'C:/x' }, 'invalid_field'],
      ['relativePath with a newline', { relativePath: 'a\nb' }, 'invalid_field'],
      ['totalChunks not a number', { totalChunks: 'many' }, 'invalid_field'],
    ];
    for (const [name, overrides, code] of cases) {
      test(`${name}: chunk POST`, async () => void await assertRefused(sys, () => post(sys.urls[0]!, { ...file, identifier: `${file.identifier}-${name.length}` }, c1, overrides, new Uint8Array(1024)), 415, code, codeOf));
      test(`${name}: test GET`, async () => void await assertRefused(sys, () => probe(sys.urls[1]!, { ...file, identifier: `${file.identifier}-${name.length}` }, c1, overrides), 415, code, codeOf));
    }

    test('a body shorter than currentChunkSize: 415 chunk_size_mismatch, nothing counted', async () =>
      void await assertRefused(sys, () => post(sys.urls[0]!, { ...file, identifier: 'short-body' }, c1, {}, new Uint8Array(1000)), 415, 'chunk_size_mismatch', codeOf));
    test('a body longer than currentChunkSize: 415 chunk_size_mismatch', async () =>
      void await assertRefused(sys, () => post(sys.urls[0]!, { ...file, identifier: 'long-body' }, c1, {}, new Uint8Array(1025)), 415, 'chunk_size_mismatch', codeOf));
    test('a urlencoded body: 415 unsupported_media_type', async () =>
      void await assertRefused(sys, async () => answerOf(await fetch(`${sys.urls[0]}/upload?${new URLSearchParams(fieldsOf({ ...file, identifier: 'form-body' }, c1))}`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b',
      })), 415, 'unsupported_media_type', codeOf));
    test('a multipart body without its file part: 415 missing_field', async () =>
      void await assertRefused(sys, async () => {
        const form = new FormData();
        for (const [key, value] of Object.entries(fieldsOf({ ...file, identifier: 'no-part' }, c1))) form.append(key, value);
        return answerOf(await fetch(`${sys.urls[0]}/upload`, { method: 'POST', body: form }));
      }, 415, 'missing_field', codeOf));

    test('after the corpus, nothing outside DATA_DIR', async () => assert.deepEqual(await outsideDataDir(sys), []));
  });
});
