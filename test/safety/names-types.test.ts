/**
 * What a published file is called, which files are accepted, and where writes may go:
 * - names Windows reserves for devices (also `CONIN$`, `CON .txt`, `COM¹`) are published
 *   with a prefix, and look-alike slashes never make a path;
 * - ALLOWED_TYPES refuses other files with their first chunk, before a byte is stored;
 * - a symbolic link planted where an upload's data file goes is not followed.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, symlink, writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sanitizeFilename } from '../../services/core/sanitize-filename.js';
import { UploadCore } from '../../services/core/upload-core.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, sendChunk, uploadFile } from '../helpers/upload-client.js';

test('device names and look-alike slashes never reach a published name as they are', () => {
  const cases: [string, string][] = [
    ['CONIN$', '_CONIN$'],
    ['CONOUT$.log', '_CONOUT$.log'],
    ['CON .txt', '_CON .txt'],
    ['COM¹.txt', '_COM¹.txt'],
    ['lpt9.log', '_lpt9.log'],
    ['console.txt', 'console.txt'],
    ['a\u2215b.txt', 'a_b.txt'],
    ['a\u2044b\u29f8c.txt', 'a_b_c.txt'],
    ['می\u200cخواهم.txt', 'می\u200cخواهم.txt'],
  ];
  for (const [given, published] of cases) assert.equal(sanitizeFilename(given), published, given);
});

describe('ALLOWED_TYPES', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem({ worker: true, env: { ALLOWED_TYPES: 'image/*, application/pdf, .txt' } });
  });
  after(() => sys?.stop());

  test('a file of another type is refused with its first chunk, by a status that stops the client; nothing is stored', async () => {
    const file = randomFile(2048);
    const refused = await sendChunk(sys.urls[0]!, file, { number: 1, start: 0, end: 1024 }, { urls: sys.urls, identifier: 'exe', chunkSize: 1024, filename: 'setup.exe' });
    assert.equal(refused.status, 400);
    assert.equal((refused.body as { error: { code: string } }).error.code, 'type_not_allowed');
    assert.equal(await sys.readUpload('exe'), undefined);
    assert.deepEqual(await readdir(sys.layout.partialDir), [], 'not a byte stored');
  });

  test('allowed by MIME type (a wildcard) or by extension', async () => {
    // The test client sends application/octet-stream: a .txt passes by its extension.
    const text = randomFile(3000);
    const responses = await uploadFile(text, { urls: sys.urls, identifier: 'notes', chunkSize: 1024, filename: 'notes.txt' });
    assert.ok(responses.every((r) => r.status === 200));
    assert.equal((await sys.waitForState('notes', ['complete'])).state, 'complete');
    const image = await fetch(`${sys.urls[0]}/upload?${new URLSearchParams({
      resumableChunkNumber: '1', resumableChunkSize: '1024', resumableCurrentChunkSize: '4', resumableTotalSize: '4',
      resumableIdentifier: 'picture', resumableFilename: 'picture', resumableType: 'image/png',
    })}`, { method: 'POST', body: new Uint8Array(4), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(image.status, 200, 'an image/png without an extension passes by its type');
  });
});

describe('symbolic links in the data directory', () => {
  let sys: TestSystem;
  let outside: string;
  before(async () => {
    sys = await startSystem();
    outside = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-outside-'));
  });
  after(async () => {
    await sys?.stop();
    await rm(outside, { recursive: true, force: true });
  });

  test('a link planted where a data file goes is not followed: nothing is written through it', async () => {
    const target = path.join(outside, 'victim');
    await writeFile(target, 'untouched');
    const declaration = { size: 1024, layout: { kind: 'pieces' as const, pieceSize: 1024, roundings: 3 }, name: 'f.bin', relativePath: 'f.bin', type: 'application/octet-stream', protocol: 'resumable' };
    const storageKey = UploadCore.storageKeyFor({ scope: sys.config.UPLOAD_NAMESPACE, quotaSubject: '' }, 'planted', declaration);
    await symlink(target, sys.layout.dataFile(storageKey));

    const response = await sendChunk(sys.urls[0]!, randomFile(1024), { number: 1, start: 0, end: 1024 }, { urls: sys.urls, identifier: 'planted', chunkSize: 1024, filename: 'f.bin' });
    assert.notEqual(response.status, 200, 'refused');
    assert.equal(await readFile(target, 'utf8'), 'untouched');
    assert.equal(await sys.readUpload('planted'), undefined, 'nothing counted');
  });
});
