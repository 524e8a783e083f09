/**
 * The real Sentinel setup of test/helpers/redis-sentinel.ts fails over as Sentinel support
 * will rely on: an ioredis client given the sentinels and the master's name writes; the
 * master is SIGKILLed; the sentinels promote the replica; the same client reconnects to it,
 * reads what the replica had acknowledged (WAIT) and writes again. And `stop()` leaves
 * nothing behind.
 */
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { askRedis } from '../helpers/redis-node.js';
import { startRedisSentinel, type RedisSentinel } from '../helpers/redis-sentinel.js';

let setup: RedisSentinel;
let client: Redis | undefined;

before(async () => {
  setup = await startRedisSentinel();
  console.log(`redis sentinel (master, replica, 3 sentinels) started in ${(setup.startupMs / 1000).toFixed(1)} s: ${setup.sentinels}`);
});
after(async () => {
  client?.disconnect();
  await setup?.stop();
});

test('after the master is killed, the client reconnects to the promoted replica, reads what was acknowledged, and writes', { timeout: 60_000 }, async () => {
  client = new Redis({ sentinels: setup.sentinelAddresses, name: setup.masterName, maxRetriesPerRequest: null });
  client.on('error', () => undefined); // connection errors while the master is down are expected
  const before = await setup.master();

  for (let i = 0; i < 100; i++) await client.set(`key-${i}`, `value-${i}`);
  // Replication is asynchronous: only what a replica acknowledged survives a failover.
  assert.equal(await client.call('WAIT', '1', '5000'), 1, 'the replica acknowledged the writes');

  const killed = await setup.killMaster();
  assert.deepEqual(killed, before);
  const failoverStarted = performance.now();
  const promoted = await setup.waitForFailover();
  console.log(`failover from ${killed.port} to ${promoted.port} took ${((performance.now() - failoverStarted) / 1000).toFixed(1)} s`);
  assert.notEqual(promoted.port, killed.port);

  for (let i = 0; i < 100; i++) assert.equal(await client.get(`key-${i}`), `value-${i}`, `key-${i} survived`);
  assert.equal(await client.set('after-failover', 'yes'), 'OK');
  // The client really talks to the promoted replica, which takes writes now.
  assert.equal(await askRedis(promoted.port, 'GET', 'after-failover'), 'yes');
  assert.equal(Number(await client.config('GET', 'port').then((reply) => (reply as string[])[1])), promoted.port);
});

test('stop() kills every server and removes the folder', async () => {
  client?.disconnect();
  const pids = setup.pids();
  assert.ok(pids.length >= 4, `at least the replica and 3 sentinels run: ${pids.join(', ')}`);
  await setup.stop();
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
  await assert.rejects(access(setup.dir), { code: 'ENOENT' });
});
