/**
 * Redis behind Sentinel, its master killed mid-upload (SIGKILL, as a crash): the sentinels
 * promote the replica, the services reconnect to it, and the uploads resume after the
 * failover with nothing lost and exactly one merge each. With REDIS_WAIT_REPLICAS=1 a range
 * is acknowledged only once the replica has it, so the failover cannot lose a range a
 * client was told is stored; while the master is down, clients get 503 and retry.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { eventually } from '../helpers/eventually.js';
import { startRedisSentinel, type RedisSentinel } from '../helpers/redis-sentinel.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, sha256, uploadFile } from '../helpers/upload-client.js';

let sentinel: RedisSentinel;
let sys: TestSystem;
before(async () => {
  sentinel = await startRedisSentinel();
  sys = await startSystem({
    ingestInstances: 2,
    worker: true,
    env: { REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_MASTER: sentinel.masterName, REDIS_WAIT_REPLICAS: '1', MERGE_LOCK_MS: '3000' },
  });
});
after(async () => {
  await sys?.stop();
  await sentinel?.stop();
});

test('the master killed mid-upload: after the failover every upload completes, exact, merged once', { timeout: 240_000 }, async () => {
  const files = Array.from({ length: 4 }, (_, i) => randomFile(6 * 1024 * 1024 + i * 1001));
  const uploads = files.map((file, i) =>
    uploadFile(file, { urls: sys.urls, identifier: `failover-${i}`, chunkSize: 256 * 1024, order: 'shuffled', concurrency: 3, body: 'octet', retries: 400 }),
  );
  // Kill once the uploads are well under way.
  await eventually(async () => ((await sys.readUpload('failover-0'))?.storedRanges ?? 0) >= 5, { what: 'uploads under way' });
  const killed = await sentinel.killMaster();
  const promoted = await sentinel.waitForFailover();
  console.log(`sentinel: master ${killed.port} killed mid-upload, ${promoted.port} promoted`);

  const answers = await Promise.all(uploads);
  for (const [i, responses] of answers.entries()) {
    assert.ok(responses.every((r) => r.status === 200), `failover-${i}: every chunk acknowledged in the end`);
  }
  for (const [i, file] of files.entries()) {
    const upload = await sys.waitForState(`failover-${i}`, ['complete', 'failed'], 120_000);
    assert.equal(upload.state, 'complete', upload.error);
    assert.equal(upload.sha256, sha256(file), `failover-${i}: nothing lost`);
    assert.ok((await sys.readPublished(upload)).equals(file));
    assert.ok(await sys.queue.getJob(mergeJobId(upload.uploadId)));
  }
  const jobs = await sys.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
  assert.equal(jobs.length, files.length, 'exactly one merge job per upload');
});
