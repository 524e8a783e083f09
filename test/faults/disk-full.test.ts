/**
 * A full disk, on a small real filesystem (a tmpfs mounted for this test; mounting needs
 * root, which the test runs have):
 * - a chunk that finds the disk full, or only the reserve (MIN_FREE_DISK) left, gets 507
 *   (resumable.js retries) and is not counted, and /readyz says the disk is nearly full;
 * - an upload whose chunks fill the disk still merges: the merge writes no second copy;
 * - a merge that cannot fit (here: no inode left for its folder) waits for space a bounded
 *   number of times, then ends, failing its upload with the reason, instead of retrying forever.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, testChunk, type UploadOptions } from '../helpers/upload-client.js';

const MiB = 1024 * 1024;
const INODES = 64;
let mountPoint: string;
let mounted = false;
let sys: TestSystem | undefined;

before(async () => {
  mountPoint = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=16m,nr_inodes=${INODES}`, 'tmpfs', mountPoint], { stdio: 'pipe' });
  mounted = true;
  sys = await startSystem({
    env: { DATA_DIR: path.join(mountPoint, 'data'), MIN_FREE_DISK: '1MB', MERGE_DISK_FULL_RETRY_MS: '100', MERGE_DISK_FULL_RETRIES: '2' },
  });
});
after(async () => {
  await sys?.stop();
  if (mounted) execFileSync('umount', [mountPoint]);
  await rmdir(mountPoint);
});

const fillers = () => path.join(mountPoint, 'fillers');

/** Fills the filesystem until only `leaveBytes` are free. */
async function fillDisk(leaveBytes: number) {
  await rm(fillers(), { recursive: true, force: true });
  await mkdir(fillers());
  const { bavail, bsize } = await statfs(mountPoint);
  await writeFile(path.join(fillers(), 'bytes'), Buffer.alloc(Math.max(bavail * bsize - leaveBytes, 0)));
}

/** Takes every inode left, with empty files. */
async function exhaustInodes() {
  for (let i = 0; ; i++) {
    try {
      await writeFile(path.join(fillers(), `inode-${i}`), '');
    } catch {
      return;
    }
  }
}

test('disk full: chunks refused and not counted; a full disk still merges; a merge that cannot fit ends', async () => {
  const system = sys!;
  const url = system.urls[0]!;
  const file = randomFile(4 * MiB);
  const options: UploadOptions = { urls: [url], identifier: 'tight-disk', chunkSize: MiB, body: 'octet' };
  const chunks = cutChunks(file.length, options.chunkSize);

  // Below the reserve: refused before a byte is written.
  await fillDisk(512 * 1024);
  const refused = await sendChunk(url, file, chunks[0]!, options);
  assert.equal(refused.status, 507);
  assert.equal((refused.body as { error: { code: string } }).error.code, 'insufficient_storage');
  assert.equal(await testChunk(url, file, chunks[0]!, options), 204, 'the chunk is not counted');
  const ready = await fetch(`${system.opsUrls[0]}/readyz`);
  assert.equal(ready.status, 503);
  assert.equal(((await ready.json()) as { checks: { storage: string } }).checks.storage, 'disk nearly full');

  // Room for the chunks and the reserve, not for a second copy: the merge needs none.
  await fillDisk(4 * MiB + 1.5 * MiB);
  for (const chunk of chunks) assert.equal((await sendChunk(url, file, chunk, options)).status, 200);
  await system.startWorker();
  const merged = await system.waitForState('tight-disk', ['complete', 'failed']);
  assert.equal(merged.state, 'complete', merged.error);
  assert.equal(merged.sha256, sha256(file));
  assert.ok((await readFile(path.join(system.config.dataDir, merged.path!))).equals(file));

  // Every inode taken after the chunks are in: the merge cannot make the published file's folder.
  await rm(fillers(), { recursive: true, force: true });
  await mkdir(fillers());
  const second = randomFile(64 * 1024);
  const secondOptions: UploadOptions = { urls: [url], identifier: 'no-inodes', chunkSize: 16 * 1024 };
  const secondChunks = cutChunks(second.length, secondOptions.chunkSize);
  for (const chunk of secondChunks.slice(0, -1)) assert.equal((await sendChunk(url, second, chunk, secondOptions)).status, 200);
  await exhaustInodes();
  assert.equal((await sendChunk(url, second, secondChunks.at(-1)!, secondOptions)).status, 200, 'the last chunk needs no inode');
  const failed = await eventually(() => system.readUpload('no-inodes'), { accept: (u) => u?.state === 'failed', what: 'the merge ended' });
  assert.match(failed!.error ?? '', /storage stayed full through 2 tries/);
  console.log(`disk full: 507 below the reserve, a full disk merged in place, a merge without room failed after 2 waits (${failed!.error})`);
  await rm(fillers(), { recursive: true, force: true });
});
