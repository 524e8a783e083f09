/**
 * The pipeline on a real 3-master Redis Cluster: every Lua script works on one upload's
 * keys in one slot, the queues' keys share a slot of their own, events cross the cluster.
 * Awkward files over two ingest instances, the completion race (one completion, one job,
 * one correct file per round), an early merge, a cancel, and live events.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { openSse } from '../helpers/sse.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, uploadFile, type UploadOptions } from '../helpers/upload-client.js';

let cluster: RedisCluster;
let sys: TestSystem;
before(async () => {
  cluster = await startRedisCluster();
  sys = await startSystem({ ingestInstances: 2, worker: true, env: { REDIS_CLUSTER_NODES: cluster.nodes, EARLY_MERGE_MIN_SIZE: '4MB', EARLY_MERGES_PER_WORKER: '1' } });
});
after(async () => {
  await sys?.stop();
  await cluster?.stop();
});

test('uploads over two instances on a Redis Cluster: exact files, one merge each, events across the cluster', async () => {
  const events = await openSse(`${sys.urls[1]}/uploads/cluster-early/events`);
  const shapes: [string, number][] = [['cluster-empty', 0], ['cluster-small', 1000], ['cluster-early', 12 * 1024 * 1024 + 5]];
  const files = new Map<string, Buffer>();
  for (const [identifier, size] of shapes) {
    const file = randomFile(size);
    files.set(identifier, file);
    const responses = await uploadFile(file, { urls: sys.urls, identifier, chunkSize: 1024 * 1024, order: 'shuffled', duplicates: true, concurrency: 4, body: 'octet' });
    assert.ok(responses.every((r) => r.status === 200), JSON.stringify(responses.find((r) => r.status !== 200)));
  }
  for (const [identifier, file] of files) {
    const upload = await sys.waitForState(identifier, ['complete', 'failed']);
    assert.equal(upload.state, 'complete', upload.error);
    assert.equal(upload.sha256, sha256(file));
    assert.ok((await sys.readPublished(upload)).equals(file));
  }
  await events.waitFor((e) => e.data.state === 'complete');
  events.close();
});

test('the completion race on a cluster: one completion, one job, one correct file per round', async () => {
  const [a, b] = sys.urls as [string, string];
  for (let round = 0; round < 15; round++) {
    const file = randomFile(4096 + round * 31);
    const options: UploadOptions = { urls: sys.urls, identifier: `cluster-race-${round}`, chunkSize: 1024 };
    const chunks = cutChunks(file.length, 1024);
    for (const chunk of chunks.slice(0, -2)) assert.equal((await sendChunk(round % 2 ? a : b, file, chunk, options)).status, 200);
    const raced = await Promise.all([
      sendChunk(a, file, chunks.at(-2)!, options), sendChunk(b, file, chunks.at(-1)!, options),
      sendChunk(b, file, chunks.at(-2)!, options), sendChunk(a, file, chunks.at(-1)!, { ...options, body: 'octet' }),
    ]);
    assert.ok(raced.every((r) => r.status === 200));
    const completions = raced.filter((r) => r.body?.outcome === 'completed');
    assert.equal(completions.length, 1, `round ${round}: one completion`);
    const upload = await sys.waitForState(options.identifier, ['complete', 'failed']);
    assert.equal(upload.sha256, sha256(file));
    assert.ok(await sys.queue.getJob(mergeJobId(upload.uploadId)));
  }
});

test('cancel on a cluster', async () => {
  const file = randomFile(5000);
  const options: UploadOptions = { urls: sys.urls, identifier: 'cluster-cancel', chunkSize: 1024 };
  await sendChunk(sys.urls[0]!, file, cutChunks(5000, 1024)[0]!, options);
  assert.equal((await fetch(`${sys.urls[1]}/uploads/cluster-cancel`, { method: 'DELETE' })).status, 200);
  assert.equal((await sendChunk(sys.urls[0]!, file, cutChunks(5000, 1024)[1]!, options)).status, 404);
});
