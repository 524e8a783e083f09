/**
 * A worker SIGKILLed at a random point of each of several merges (before it starts, while it
 * hashes, after it publishes) and restarted: every file correct, nothing else left.
 * CI size: 6 merges; WORKER_KILL_ROUNDS=50 for a longer run.
 * The same for a merge killed while it follows an upload still receiving.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { eventually } from '../helpers/eventually.js';
import { killAll, startService } from '../helpers/processes.js';
import { namesIn, startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, uploadFile } from '../helpers/upload-client.js';

const MERGES = Number(process.env.WORKER_KILL_ROUNDS ?? 6);
// Short enough that a killed worker's merge is taken over soon, long enough that a live worker
// on a loaded machine renews its lock in time (a job that stalls twice fails).
const MERGE_LOCK_MS = '3000';
let sys: TestSystem;
before(async () => {
  sys = await startSystem();
});
after(async () => {
  killAll();
  await sys.stop();
});

test(`${MERGES} merges, each with its worker SIGKILLed at a random point`, async () => {
  const env = { REDIS_URL: sys.redisServer.url, DATA_DIR: sys.config.dataDir, MERGE_LOCK_MS, MIN_FREE_DISK: '1MB' };
  const killedIn: string[] = [];
  for (let round = 0; round < MERGES; round++) {
    const source = randomFile(32 * 1024 * 1024 + round);
    const identifier = `kill-${round}`;
    const worker = startService('worker', env);
    await worker.waitForLog('worker ready');
    await uploadFile(source, { urls: sys.urls, identifier, chunkSize: 1024 * 1024, body: 'octet', concurrency: 8, filename: 'k.bin' });
    // The kill point is random on purpose: from the merge's start (hashing) to after it is
    // published and recorded; every other round waits for nothing, so some die before it starts.
    if (round % 2 === 0) await eventually(async () => (await sys.readUpload(identifier))?.state !== 'queued', { what: 'the merge started' });
    await sleep(Math.random() * 100);
    await worker.kill('SIGKILL');
    killedIn.push((await sys.readUpload(identifier))!.state);

    const restarted = startService('worker', env);
    const upload = await sys.waitForState(identifier, ['complete', 'failed'], 60_000);
    assert.equal(upload.state, 'complete', upload.error);
    assert.equal(upload.sha256, sha256(source));
    assert.ok((await readFile(path.join(sys.config.dataDir, upload.path!))).equals(source), `round ${round}: bytes equal`);
    // Killed after recording the result but before its clean-up: the job stalls, and its
    // rerun on the restarted worker finishes the clean-up a lock period later.
    await eventually(async () => (await (await sys.queue.getJob(mergeJobId(upload.uploadId)))?.getState()) === 'completed', { what: `round ${round}: the job completed` });
    assert.deepEqual(await readdir(sys.layout.uploadFilesDir(upload.uploadId)), ['k.bin'], `round ${round}: nothing beside the file`);
    assert.ok(!(await namesIn(sys.layout.partialDir)).includes(upload.storageKey), `round ${round}: no data file left`);
    await restarted.kill('SIGTERM');
  }
  const tally = Object.entries(killedIn.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {}));
  console.log(`worker SIGKILL: ${MERGES} merges, killed while ${tally.map(([s, n]) => `${s} ×${n}`).join(', ')}; ${MERGES} correct files`);
});

test('a worker SIGKILLed during an early merge: the restarted worker merges the upload from the start', async () => {
  const early = await startSystem({ env: { EARLY_MERGE_MIN_SIZE: '1MB', EARLY_MERGES_PER_WORKER: '1' } });
  try {
    const env = { REDIS_URL: early.redisServer.url, DATA_DIR: early.config.dataDir, MERGE_LOCK_MS, MIN_FREE_DISK: '1MB', EARLY_MERGE_MIN_SIZE: '1MB', EARLY_MERGES_PER_WORKER: '1' };
    const source = randomFile(32 * 1024 * 1024 + 5);
    const options = { urls: early.urls, identifier: 'kill-early', chunkSize: 1024 * 1024, body: 'octet' as const, filename: 'e.bin' };
    const chunks = cutChunks(source.length, options.chunkSize);
    const worker = startService('worker', env);
    await worker.waitForLog('worker ready');
    let uploadId = '';
    for (const chunk of chunks.slice(0, 20)) uploadId = String((await sendChunk(early.urls[0]!, source, chunk, options)).body!.uploadId);
    await eventually(async () => ((await early.queue.getJob(mergeJobId(uploadId)))?.progress as { early?: boolean } | undefined)?.early, { what: 'the early merge under way' });
    await worker.kill('SIGKILL');

    startService('worker', env);
    for (const chunk of chunks.slice(20)) assert.equal((await sendChunk(early.urls[0]!, source, chunk, options)).status, 200);
    const upload = await early.waitForState('kill-early', ['complete', 'failed'], 60_000);
    assert.equal(upload.state, 'complete', upload.error);
    assert.ok((await readFile(path.join(early.config.dataDir, upload.path!))).equals(source), 'bytes equal');
    assert.deepEqual(await readdir(early.layout.uploadFilesDir(uploadId)), ['e.bin'], 'the killed merge left nothing behind');
  } finally {
    killAll();
    await early.stop();
  }
});
