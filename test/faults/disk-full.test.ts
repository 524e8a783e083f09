/**
 * A full disk, on a small real filesystem (a tmpfs mounted for this test): a chunk write
 * that runs out of space gets 507 (resumable.js retries) and is not counted; a merge that
 * runs out waits without failing the upload, and succeeds once space is freed.
 * Mounting needs root; where the machine refuses, the test says so and skips.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mergeJobId } from '../../services/shared/merge-job.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, testChunk, type UploadOptions } from '../helpers/upload-client.js';

const MiB = 1024 * 1024;
let mountPoint: string;
let mountError: string | undefined;
let sys: TestSystem | undefined;

before(async () => {
  mountPoint = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-diskfull-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (err) {
    mountError = String((err as { stderr?: Buffer }).stderr ?? err).trim();
    return;
  }
  sys = await startSystem({ env: { DATA_DIR: mountPoint, MERGE_DISK_FULL_RETRY_MS: '300' } });
});
after(async () => {
  await sys?.stop();
  if (!mountError) execFileSync('umount', [mountPoint]);
  await rmdir(mountPoint);
});

const filler = () => path.join(mountPoint, 'filler');

/** Fills the filesystem until only `leaveBytes` are free. */
async function fillDisk(leaveBytes: number) {
  await rm(filler(), { force: true });
  const { bavail, bsize } = await statfs(mountPoint);
  await writeFile(filler(), Buffer.alloc(Math.max(bavail * bsize - leaveBytes, 0)));
}

test('disk full during a chunk write, then during a merge', async (t) => {
  if (mountError) {
    t.skip(`cannot mount a tmpfs here (${mountError}); this test needs root`);
    return;
  }
  const system = sys!;
  console.log(`disk full: using a 16 MiB tmpfs mounted at ${mountPoint}`);
  const url = system.urls[0]!;
  const file = randomFile(4 * MiB);
  const options: UploadOptions = { urls: [url], identifier: 'tight-disk', chunkSize: MiB, body: 'octet' };
  const chunks = cutChunks(file.length, options.chunkSize);

  await fillDisk(256 * 1024);
  const refused = await sendChunk(url, file, chunks[0]!, options);
  assert.equal(refused.status, 507);
  assert.equal((refused.body as { error: { code: string } }).error.code, 'insufficient_storage');
  assert.equal(await testChunk(url, file, chunks[0]!, options), 204, 'the chunk is not counted');
  assert.deepEqual(await readdir(system.layout.tmpDir), [], 'no partial body left');

  // Room for the chunks but not for the merged copy of them.
  await fillDisk(4 * MiB + 512 * 1024);
  for (const chunk of chunks) assert.equal((await sendChunk(url, file, chunk, options)).status, 200);
  const uploadId = (await system.store.readUpload(system.keyHashOf('tight-disk')))!.uploadId;
  await system.startWorker();
  const job = (await system.queue.getJob(mergeJobId(uploadId)))!;
  let state = await job.getState();
  for (let i = 0; i < 250 && state !== 'delayed'; i++) {
    await sleep(20);
    state = await job.getState();
  }
  assert.equal(state, 'delayed', 'the merge waits for space');
  assert.equal((await system.store.readUpload(system.keyHashOf('tight-disk')))?.state, 'merging', 'the upload is not failed');
  const temps = (await readdir(system.layout.uploadFilesDir(uploadId))).filter((n) => n.endsWith('.merging'));
  assert.deepEqual(temps, [], 'the partial merge was removed');

  await rm(filler());
  const upload = await system.waitForState('tight-disk', ['complete', 'failed']);
  assert.equal(upload.state, 'complete', upload.error);
  assert.equal(upload.sha256, sha256(file));
  assert.ok((await readFile(path.join(mountPoint, upload.path!))).equals(file));
  // BullMQ counts the successful run as an attempt; the waits for space count none.
  assert.equal((await system.queue.getJob(mergeJobId(uploadId)))!.attemptsMade, 1, 'waiting for space used no attempt');
});
