/**
 * The real Redis Cluster of test/helpers/redis-cluster.ts behaves as cluster support will
 * rely on: keys spread over the masters, a Lua script may touch several keys only when a
 * hash tag puts them in one slot, and BullMQ works when its prefix is a hash tag. And
 * `stop()` leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

let cluster: RedisCluster;
let client: Cluster;
/** Every client made, for `after`: BullMQ does not close connections it was given. */
const clients: Cluster[] = [];

function connect(): Cluster {
  // BullMQ needs maxRetriesPerRequest: null (its blocking commands wait indefinitely).
  const made = new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: null } });
  made.on('error', () => undefined); // a failing command rejects; stop() cuts connections on purpose
  clients.push(made);
  return made;
}

before(async () => {
  cluster = await startRedisCluster();
  console.log(`redis cluster (3 masters) started in ${(cluster.startupMs / 1000).toFixed(1)} s: ${cluster.nodes}`);
  client = connect();
});
after(async () => {
  for (const made of clients) made.disconnect();
  await cluster?.stop();
});

test('keys in different slots land on different masters and read back', async () => {
  const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
  for (const key of keys) await client.set(key, `value of ${key}`);
  for (const key of keys) assert.equal(await client.get(key), `value of ${key}`);

  const perMaster = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
  assert.equal(perMaster.length, 3);
  assert.equal(perMaster.reduce((a, b) => a + b, 0), keys.length);
  assert.ok(perMaster.every((count) => count > 0), `every master holds some of the keys: ${perMaster.join(', ')}`);
});

test('a Lua script over two keys works when one hash tag puts them in one slot, and fails with CROSSSLOT otherwise', async () => {
  const script = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); return redis.call('MGET', KEYS[1], KEYS[2])";
  assert.deepEqual(await client.eval(script, 2, '{upload-1}:chunks', '{upload-1}:state', 'c', 's'), ['c', 's']);
  assert.equal(await client.get('{upload-1}:state'), 's');

  // "a" and "b" hash to slots on different masters (15495 and 3300).
  await assert.rejects(client.eval(script, 2, 'a', 'b', '1', '2'), /CROSSSLOT/);
});

test("a BullMQ queue and worker with prefix '{chunkyard}' process a job, every key in one slot", { timeout: 30_000 }, async () => {
  const prefix = '{chunkyard}';
  const queue = new Queue('merge', { connection: client, prefix });
  // QueueEvents reads the events stream from '$' (what is added after its first XREAD),
  // and waitUntilReady() does not wait for that XREAD: on a cluster the job could finish
  // before it and the 'completed' event would never arrive. A new queue: read it all.
  const events = new QueueEvents('merge', { connection: connect(), prefix, lastEventId: '0-0' });
  const worker = new Worker('merge', async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), { connection: connect(), prefix });
  try {
    await events.waitUntilReady();
    const job = await queue.add('double', { n: 21 });
    assert.deepEqual(await job.waitUntilFinished(events, 20_000), { doubled: 42 });

    const holders = [];
    for (const node of client.nodes('master')) {
      const [, found] = await node.scan(0, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (found.length > 0) holders.push(node.options.port);
    }
    assert.equal(holders.length, 1, `the queue's keys live on one master (${holders.join(', ')})`);
  } finally {
    await worker.close();
    await events.close();
    await queue.close();
  }
});

test('stop() kills the servers and removes the folder', async () => {
  const pids = cluster.pids();
  assert.equal(pids.length, 3);
  for (const made of clients) made.disconnect();
  await cluster.stop();
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
  await assert.rejects(access(cluster.dir), { code: 'ENOENT' });
});
