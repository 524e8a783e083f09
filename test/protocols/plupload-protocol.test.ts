/**
 * Plupload 2.3.9, html5 runtime, over raw HTTP (docs/protocols/plupload.md), against two
 * ingest instances and a worker: `name`, `chunk` (from 0) and `chunks` before the part
 * `file` (`blob` for a chunk), one request at a time; no size, no piece size and no id on
 * the wire. The piece size is learnt from chunk 0, the size from the last chunk; a file in
 * one request (no chunking, one chunk, an allowed empty file) is stored whole. Same-named
 * files are kept apart by a `uid` field or by upload tokens, and a same-named file is never
 * mixed into another. Refusals are 4xx (Plupload fails the file on anything >= 400, and
 * counts a 3xx as success: never one), never 5xx.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { uploadKeyHash } from '../../services/core/keys.js';
import { eventually } from '../helpers/eventually.js';
import { startSystem, viewOf, type TestSystem } from '../helpers/system.js';
import { randomFile } from '../helpers/upload-client.js';
import { answerOf, assertPublished, assertRefused, outsideDataDir, statusOf, type Answer } from './adapter-checks.js';

const KiB = 1024;
const MiB = 1024 * KiB;
let sys: TestSystem;
let counter = 0;

before(async () => {
  sys = await startSystem({ ingestInstances: 2, worker: true, env: { MAX_FILE_SIZE: '16MB', MAX_CHUNK_SIZE: '2MB', MAX_CHUNKS: '1000' } });
});
after(() => sys?.stop());

interface PlFile {
  bytes: Buffer;
  name: string;
  chunkSize: number;
  /** multipart_params the page adds (a uid, a token). */
  params?: Record<string, string>;
}

interface PlChunk {
  index: number;
  start: number;
  end: number;
}

function newFile(size: number, chunkSize: number, extra: Partial<PlFile> = {}): PlFile {
  return { bytes: randomFile(size), name: `pl-${counter++}.bin`, chunkSize, ...extra };
}

/** Plupload's chunks: ceil(size / chunk_size); an empty file is `chunk=0&chunks=0` with an empty part. */
function chunksOf(file: PlFile): PlChunk[] {
  const count = Math.ceil(file.bytes.length / file.chunkSize);
  if (count === 0) return [{ index: 0, start: 0, end: 0 }];
  return Array.from({ length: count }, (_, index) => ({ index, start: index * file.chunkSize, end: Math.min((index + 1) * file.chunkSize, file.bytes.length) }));
}

/**
 * One request as Plupload sends it: `name`, `chunk`, `chunks`, the page's multipart_params,
 * then the part `file`: `blob` (octet-stream) for a chunk cut from a larger file, else the
 * file's own name and type.
 */
async function sendChunk(url: string, file: PlFile, chunk: PlChunk, overrides: Record<string, string | undefined> = {}, body?: Uint8Array): Promise<Answer> {
  const count = chunksOf(file).length === 1 && file.bytes.length === 0 ? 0 : chunksOf(file).length;
  const fields: Record<string, string | undefined> = { name: file.name, chunk: String(chunk.index), chunks: String(count), ...file.params, ...overrides };
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) form.append(key, value);
  const whole = count <= 1;
  const bytes = body ?? file.bytes.subarray(chunk.start, chunk.end);
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: whole ? 'text/plain' : '' }), whole ? file.name : 'blob');
  return answerOf(await fetch(`${url}/upload`, { method: 'POST', body: form }));
}

/** `multipart: false`: the raw bytes, the same fields in the query string. */
async function sendRaw(url: string, file: PlFile, chunk: PlChunk): Promise<Answer> {
  const query = new URLSearchParams({ name: file.name, chunk: String(chunk.index), chunks: String(chunksOf(file).length), ...file.params });
  const bytes = file.bytes.subarray(chunk.start, chunk.end);
  return answerOf(await fetch(`${url}/upload?${query}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes }));
}

/** Every chunk in order, one at a time (Plupload never sends the next before the answer), alternating instances. */
async function upload(file: PlFile, send = sendChunk): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const chunk of chunksOf(file)) {
    const answer = await send(sys.urls[chunk.index % sys.urls.length]!, file, chunk);
    assert.equal(answer.status, 200, `chunk ${chunk.index}: ${answer.text}`);
    answers.push(answer);
  }
  return answers;
}

const completions = (answers: Answer[]) => answers.filter((a) => a.body?.outcome === 'completed').length;
const codeOf = (answer: Answer) => (answer.body?.error as { code?: string } | undefined)?.code;

describe('Plupload protocol (chunk_size set)', () => {
  test('a few MiB in 1 MiB chunks over two instances: piece size learnt from chunk 0, size from the last, one merge', async () => {
    const file = newFile(3 * MiB + 512 * KiB + 77, MiB);
    const answers = await upload(file);
    assert.deepEqual(answers.map((a) => a.body?.chunk), [0, 1, 2, 3], '0-based');
    assert.deepEqual(answers.map((a) => a.body?.complete), [false, false, false, true]);
    const upload_ = await assertPublished(sys, file.name, file.bytes, completions(answers));
    assert.equal(upload_.totalSize, file.bytes.length, 'the size declared with the last chunk');
    const status = await statusOf(sys.urls[1]!, file.name);
    assert.equal(status.protocol, 'plupload');
    assert.equal(status.identifier, file.name, 'known by its name');
    assert.equal(status.total, 4);
  });

  for (const [label, size, chunkSize] of [
    ['an exact multiple of the chunk size (the last chunk is whole too)', 4 * 64 * KiB, 64 * KiB],
    ['one byte more than a chunk: chunks of 65,536 and 1 bytes', 64 * KiB + 1, 64 * KiB],
    ['two chunks of one byte', 2, 1],
  ] as const) {
    test(`${label}`, async () => {
      const file = newFile(size, chunkSize);
      const answers = await upload(file);
      await assertPublished(sys, file.name, file.bytes, completions(answers));
    });
  }

  test('multipart: false: raw chunks, the fields in the query string', async () => {
    const file = newFile(200 * KiB + 3, 64 * KiB);
    const answers = await upload(file, sendRaw);
    await assertPublished(sys, file.name, file.bytes, completions(answers));
  });

  test('files in one request: one chunk (chunks=1), an empty file (chunks=0), no chunking at all: stored whole under a new id', async () => {
    const cases: [string, PlFile, (file: PlFile) => Promise<Answer>][] = [
      ['1 byte, chunks=1', newFile(1, 64 * KiB), (file) => sendChunk(sys.urls[0]!, file, chunksOf(file)[0]!)],
      ['0 bytes, chunks=0', newFile(0, 64 * KiB), (file) => sendChunk(sys.urls[1]!, file, chunksOf(file)[0]!)],
      ['a few KiB, chunks=1', newFile(5000, 64 * KiB), (file) => sendChunk(sys.urls[1]!, file, chunksOf(file)[0]!)],
      ['no chunking: name and file', newFile(70 * KiB, MiB), (file) => sendChunk(sys.urls[0]!, file, { index: 0, start: 0, end: file.bytes.length }, { chunk: undefined, chunks: undefined })],
    ];
    for (const [label, file, send] of cases) {
      const answer = await send(file);
      assert.equal(answer.status, 200, `${label}: ${answer.text}`);
      assert.match(String(answer.body?.id), /^[0-9a-f]{32}$/, `${label}: a server-chosen id`);
      const stored = await assertPublished(sys, String(answer.body?.id), file.bytes, 1);
      assert.equal(stored.name, file.name, label);
      assert.equal(stored.type, 'text/plain', `${label}: the whole file's part carries its type`);
      assert.equal((await statusOf(sys.urls[0]!, String(answer.body?.id))).protocol, 'plupload');
    }
    const empty = newFile(0, 64 * KiB);
    await assertRefused(sys, () => sendChunk(sys.urls[0]!, empty, chunksOf(empty)[0]!, {}, new Uint8Array(5)), 400, 'range_size_mismatch', codeOf);
  });

  test('multipart: false without chunking: the raw file, its name in the query string, stored whole', async () => {
    const bytes = randomFile(3000);
    const answer = await answerOf(await fetch(`${sys.urls[1]}/upload?name=${encodeURIComponent('raw é.txt')}`, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes,
    }));
    assert.equal(answer.status, 200, answer.text);
    const stored = await assertPublished(sys, String(answer.body?.id), bytes, 1);
    assert.equal(stored.name, 'raw é.txt');
    assert.equal(stored.type, '', 'Plupload labels raw bodies application/octet-stream, not with the file\'s type');
  });

  test('a chunk sent again (max_retries after a lost answer), on the other instance: 200, nothing changes; after completion too', async () => {
    const file = newFile(4 * 10 * KiB, 10 * KiB);
    const [c0, c1, c2, c3] = chunksOf(file) as [PlChunk, PlChunk, PlChunk, PlChunk];
    const answers = [await sendChunk(sys.urls[0]!, file, c0), await sendChunk(sys.urls[1]!, file, c0)];
    assert.equal(answers[1]!.body?.outcome, 'duplicate', 'chunk 0 again: the same piece size');
    answers.push(await sendChunk(sys.urls[0]!, file, c1), await sendChunk(sys.urls[1]!, file, c1));
    assert.equal(answers[3]!.body?.outcome, 'duplicate');
    // Out of order once chunk 0 is in: the last before the one ahead of it.
    answers.push(await sendChunk(sys.urls[1]!, file, c3));
    assert.equal(answers[4]!.body?.complete, false, 'the size is known, a chunk is missing');
    answers.push(await sendChunk(sys.urls[0]!, file, c2));
    answers.push(await sendChunk(sys.urls[1]!, file, c3));
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    assert.equal(answers[6]!.body?.outcome, 'already_complete');
    await assertPublished(sys, file.name, file.bytes, completions(answers));
  });

  test('a chunk before chunk 0 (the piece size is not known yet): 404 upload_not_found, nothing created', async () => {
    const file = newFile(3 * KiB, KiB);
    await assertRefused(sys, () => sendChunk(sys.urls[0]!, file, chunksOf(file)[1]!), 404, 'upload_not_found', codeOf);
  });

  test('chunks of the wrong length: a middle chunk must be exactly the piece size, the last at most that, none empty', async () => {
    const file = newFile(4 * KiB, KiB);
    const [c0, c1, , c3] = chunksOf(file) as [PlChunk, PlChunk, PlChunk, PlChunk];
    const empty = { ...file, name: `empty-first-${counter++}.bin` };
    await assertRefused(sys, () => sendChunk(sys.urls[0]!, empty, c0, {}, new Uint8Array(0)), 400, 'range_size_mismatch', codeOf);
    assert.equal((await sendChunk(sys.urls[0]!, file, c0)).status, 200);
    await assertRefused(sys, () => sendChunk(sys.urls[1]!, file, c1, {}, new Uint8Array(KiB - 1)), 400, 'range_size_mismatch', codeOf);
    await assertRefused(sys, () => sendChunk(sys.urls[1]!, file, c1, {}, new Uint8Array(KiB + 1)), 400, 'range_size_mismatch', codeOf);
    await assertRefused(sys, () => sendChunk(sys.urls[0]!, file, c3, {}, new Uint8Array(KiB + 1)), 400, 'range_size_mismatch', codeOf);
    await assertRefused(sys, () => sendChunk(sys.urls[0]!, file, c3, {}, new Uint8Array(0)), 400, 'range_out_of_bounds', codeOf);
    await assertRefused(sys, () => sendChunk(sys.urls[1]!, file, c0, {}, new Uint8Array(KiB - 1)), 400, 'range_size_mismatch', codeOf);
    const upload = await sys.readUpload(file.name);
    assert.equal(upload?.storedRanges, 1);
    assert.equal(upload?.totalSize, undefined, 'no size declared by a refused last chunk');
  });

  test('a chunk count that changes mid-upload: 409 upload_conflict, the first stands', async () => {
    const file = newFile(4 * KiB, KiB);
    const [c0, c1] = chunksOf(file) as [PlChunk, PlChunk];
    assert.equal((await sendChunk(sys.urls[0]!, file, c0)).status, 200);
    await assertRefused(sys, () => sendChunk(sys.urls[1]!, file, c1, { chunks: '5' }), 409, 'upload_conflict', codeOf);
    await assertRefused(sys, () => sendChunk(sys.urls[1]!, file, c0, { chunks: '3' }), 409, 'upload_conflict', codeOf);
  });

  describe('same-named files', () => {
    test('a uid field (multipart_params) keeps them apart: two same-named files interleaved, both published', async () => {
      const a = newFile(3 * KiB + 1, KiB, { name: 'photo.jpg', params: { uid: 'o_1hq2a' } });
      const b = newFile(3 * KiB + 2, KiB, { name: 'photo.jpg', params: { uid: 'o_1hq2b' } });
      const answers: Answer[] = [];
      for (let i = 0; i < 4; i++) {
        answers.push(await sendChunk(sys.urls[0]!, a, chunksOf(a)[i]!), await sendChunk(sys.urls[1]!, b, chunksOf(b)[i]!));
      }
      for (const answer of answers) assert.equal(answer.status, 200, answer.text);
      await assertPublished(sys, 'o_1hq2a', a.bytes, completions(answers.filter((_, i) => i % 2 === 0)));
      await assertPublished(sys, 'o_1hq2b', b.bytes, completions(answers.filter((_, i) => i % 2 === 1)));
      assert.equal((await statusOf(sys.urls[0]!, 'o_1hq2b')).filename, 'photo.jpg');
    });

    test('without a uid, another file under the same name is refused while the first is in progress (409 upload_conflict), never mixed in; once the first is published it starts a new upload and both files stay', async () => {
      const first = newFile(3 * KiB, KiB, { name: 'report.pdf' });
      const other = { ...newFile(3 * KiB, KiB), name: 'report.pdf' };
      const [c0, c1, c2] = chunksOf(first) as [PlChunk, PlChunk, PlChunk];
      const answers = [await sendChunk(sys.urls[0]!, first, c0), await sendChunk(sys.urls[1]!, first, c1)];
      const refused = await assertRefused(sys, () => sendChunk(sys.urls[1]!, other, c0), 409, 'upload_conflict', codeOf);
      assert.match(String((refused.body?.error as { message: string }).message), /uid/, 'the message says how to keep them apart');
      answers.push(await sendChunk(sys.urls[0]!, first, c2));
      const published = await assertPublished(sys, 'report.pdf', first.bytes, completions(answers));
      // The last chunk sent again after its answer was lost is still fine.
      assert.equal((await sendChunk(sys.urls[1]!, first, c2)).status, 200);

      // The same name again (phones call every photo image.jpg): a new upload, the first file kept.
      const again = await upload(other);
      const second = await assertPublished(sys, 'report.pdf', other.bytes, completions(again));
      assert.notEqual(second.uploadId, published.uploadId);
      assert.ok((await sys.readPublished(published)).equals(first.bytes), 'the first file is still published, unchanged');
    });

    test('the same name sent again while the first file is still waiting for its merge: chunk 0 waits for it, then starts a new upload', async () => {
      // A system of its own with no worker yet, so the first file's merge is certainly still queued.
      const quiet = await startSystem({ env: { MAX_CHUNK_SIZE: '2MB' } });
      try {
        const first = newFile(2 * KiB, KiB, { name: 'image.jpg' });
        const other = newFile(3 * KiB, KiB, { name: 'image.jpg' });
        for (const chunk of chunksOf(first)) assert.equal((await sendChunk(quiet.urls[0]!, first, chunk)).status, 200);
        assert.equal((await quiet.readUpload('image.jpg'))?.state, 'queued');
        const waiting = sendChunk(quiet.urls[0]!, other, chunksOf(other)[0]!);
        await quiet.startWorker();
        let answer = await waiting;
        // Past the server's wait (a very busy machine), a 503 says to send it again: a page's max_retries.
        if (answer.status === 503) {
          await quiet.waitForState('image.jpg', ['complete']);
          answer = await sendChunk(quiet.urls[0]!, other, chunksOf(other)[0]!);
        }
        assert.equal(answer.status, 200, answer.text);
        const newUploadId = answer.body?.uploadId;
        for (const chunk of chunksOf(other).slice(1)) assert.equal((await sendChunk(quiet.urls[0]!, other, chunk)).status, 200);
        const second = await quiet.waitForState('image.jpg', ['complete', 'failed']);
        assert.equal(second.uploadId, newUploadId, "the upload chunk 0 started is the one published");
        assert.ok((await quiet.readPublished(second)).equals(other.bytes), 'the second file, byte for byte');
        const files = await readdir(quiet.layout.filesDir);
        assert.equal(files.length, 2, 'both files published, each in its own folder');
      } finally {
        await quiet.stop();
      }
    });

    test('upload tokens scope names per subject: two people upload the same name at once', async () => {
      const secret = 'a-plupload-test-token-secret-of-32-chars';
      const tokens = await startSystem({ worker: true, env: { UPLOAD_TOKEN_SECRET: secret, MAX_CHUNK_SIZE: '1MB' } });
      try {
        const token = (sub: string) => new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
        const alice = newFile(3 * KiB, KiB, { name: 'cv.pdf', params: { token: await token('alice') } });
        const bob = newFile(3 * KiB + 9, KiB, { name: 'cv.pdf', params: { token: await token('bob') } });
        const answers: Answer[] = [];
        for (let i = 0; i < 4; i++) {
          if (chunksOf(alice)[i]) answers.push(await sendChunk(tokens.urls[0]!, alice, chunksOf(alice)[i]!));
          answers.push(await sendChunk(tokens.urls[0]!, bob, chunksOf(bob)[i]!));
        }
        for (const answer of answers) assert.equal(answer.status, 200, answer.text);
        for (const [person, file] of [['alice', alice], ['bob', bob]] as const) {
          const record = await eventually(() => tokens.state.read(uploadKeyHash(`sub:${person}`, 'cv.pdf')), {
            accept: (upload) => upload?.state === 'complete', what: `${person}'s cv.pdf merged`,
          });
          assert.ok((await tokens.readPublished(viewOf(record!))).equals(file.bytes), `${person}'s own bytes`);
          const seen = await fetch(`${tokens.urls[0]}/uploads/cv.pdf`, { headers: { 'x-upload-token': file.params!.token! } });
          assert.equal(((await seen.json()) as { size: number }).size, file.bytes.length, `${person} sees their own cv.pdf`);
        }
        const anonymous = await sendChunk(tokens.urls[0]!, { ...alice, params: {} }, chunksOf(alice)[0]!);
        assert.equal(anonymous.status, 401, 'no token, no upload');
      } finally {
        await tokens.stop();
      }
    });
  });

  describe('hostile values in every field: 4xx, never a 5xx, nothing outside DATA_DIR', () => {
    const file = newFile(4 * KiB, KiB);
    const c0: PlChunk = { index: 0, start: 0, end: KiB };
    const cases: [string, Record<string, string | undefined>, number, string][] = [
      ['name climbing out', { name: '../../escape.txt' }, 400, 'invalid_field'],
      ['name absolute', { name: '/etc/passwd' }, 400, 'invalid_field'],
      ['name with a backslash path', { name: '..\\..\\win.ini' }, 400, 'invalid_field'],
      ['name with a NUL byte', { name: 'a\u0000.txt' }, 400, 'invalid_field'],
      ['name with a right-to-left override', { name: 'invoice\u202Efdp.exe' }, 400, 'invalid_field'],
      ['name with a fullwidth solidus', { name: 'a\uFF0Fb.txt' }, 400, 'invalid_field'],
      ['name ..', { name: '..' }, 400, 'invalid_field'],
      ['name of 256 bytes', { name: 'é'.repeat(128) }, 400, 'invalid_field'],
      ['name missing', { name: undefined }, 400, 'missing_field'],
      ['chunk negative', { chunk: '-1' }, 400, 'invalid_field'],
      ['chunk in exponent notation', { chunk: '0e0' }, 400, 'invalid_field'],
      ['chunk empty', { chunk: '' }, 400, 'missing_field'],
      ['chunk equal to chunks (0-based)', { chunk: '4' }, 400, 'range_out_of_bounds'],
      ['chunk past 2^53', { chunk: '99999999999999999' }, 400, 'invalid_field'],
      ['chunks missing', { chunks: undefined }, 400, 'missing_field'],
      ['chunks with a decimal point', { chunks: '4.0' }, 400, 'invalid_field'],
      ['chunks 0 with chunk 1', { chunk: '1', chunks: '0' }, 400, 'range_out_of_bounds'],
      ['chunks over MAX_CHUNKS', { chunks: '1001' }, 400, 'too_many_ranges'],
      ['uid climbing out', { uid: '../../x' }, 400, 'invalid_field'],
      ['uid with a space', { uid: 'o 1' }, 400, 'invalid_field'],
      ['uid of 300 characters', { uid: 'u'.repeat(300) }, 400, 'invalid_field'],
      ['uid empty', { uid: '' }, 400, 'missing_field'],
      ['offset and total (send_chunk_number: false)', { chunk: undefined, chunks: undefined, offset: '0', total: '4096' }, 400, 'invalid_field'],
    ];
    for (const [name, overrides, status, code] of cases) {
      test(`${name}: ${status} ${code}`, async () => {
        await assertRefused(sys, () => sendChunk(sys.urls[0]!, { ...file, name: `hostile-${counter++}.bin` }, c0, overrides), status, code, codeOf);
      });
    }

    test('a file larger than MAX_FILE_SIZE is refused at chunk 1, once the piece size is known: 413 file_too_large', async () => {
      // 1000 chunks (MAX_CHUNKS) of 32 KiB: over the 16 MB MAX_FILE_SIZE.
      const big = newFile(64 * KiB, 32 * KiB);
      assert.equal((await sendChunk(sys.urls[0]!, big, chunksOf(big)[0]!, { chunks: '1000' })).status, 200);
      await assertRefused(sys, () => sendChunk(sys.urls[1]!, big, chunksOf(big)[1]!, { chunks: '1000' }), 413, 'file_too_large', codeOf);
    });

    test('a urlencoded body with the fields: 415 unsupported_media_type', async () => {
      await assertRefused(sys, async () => answerOf(await fetch(`${sys.urls[0]}/upload?name=x.bin&chunk=0&chunks=2`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b',
      })), 415, 'unsupported_media_type', codeOf);
    });

    test('a chunk without its file part: 400 missing_field', async () => {
      await assertRefused(sys, async () => {
        const form = new FormData();
        form.append('name', 'nopart.bin');
        form.append('chunk', '0');
        form.append('chunks', '2');
        return answerOf(await fetch(`${sys.urls[0]}/upload`, { method: 'POST', body: form }));
      }, 400, 'missing_field', codeOf);
    });

    test('after the corpus, nothing outside DATA_DIR', async () => assert.deepEqual(await outsideDataDir(sys), []));
  });
});
