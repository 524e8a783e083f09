/**
 * A real Redis Sentinel setup for a test file: a master, one replica and three sentinels
 * (quorum 2) on free loopback ports, in a temp folder of its own, with failover tuned to
 * take seconds: the master is judged down after 1 s without an answer.
 *
 * What Sentinel guarantees, and what it does not: replication is asynchronous. A write the
 * master acknowledged but had not yet sent to the replica is lost when the replica is
 * promoted. `WAIT 1 <ms>` returns once the replica acknowledged the write (so it survives
 * a failover), or tells how many replicas did by the deadline; `min-replicas-to-write`
 * makes a master refuse writes while no replica is connected, which shrinks the loss
 * window without closing it, and on a promoted replica left with no replica of its own it
 * would refuse every write. Neither is set here: tests use WAIT where they need a write to
 * survive.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { askRedis, parseInfo, startRedisNode, type RedisNode } from './redis-node.js';
import { deadline, waitFor, type WaitOptions } from './wait.js';

export interface RedisSentinelOptions {
  /** Sentinel down-after-milliseconds: how long the master may not answer before it is judged down (default 1000). */
  downAfterMs?: number;
  /** Sentinel failover-timeout: a failed failover is retried after twice this (default 3000). */
  failoverTimeoutMs?: number;
  /** Deadline for the whole start-up (default 30 s). */
  timeoutMs?: number;
}

export interface Address {
  host: string;
  port: number;
}

export interface RedisSentinel {
  /** "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3" */
  sentinels: string;
  /** The same as ioredis `sentinels`. */
  sentinelAddresses: Address[];
  masterName: string;
  dir: string;
  /** How long start-up took, in ms. */
  startupMs: number;
  /** The master as the sentinels report it now (all three must agree). */
  master(): Promise<Address>;
  /** SIGKILLs the current master (no clean shutdown, as a crash); resolves with its address. */
  killMaster(): Promise<Address>;
  /** Resolves with the new master once every sentinel reports one other than the last killed, and it answers as a master. */
  waitForFailover(timeoutMs?: number): Promise<Address>;
  /** Process ids of its servers still running. */
  pids(): number[];
  /** Kills every server and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

const MASTER_NAME = 'chunkyard';
const SENTINELS = 3;

export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinel> {
  const started = performance.now();
  const timeLeft = deadline(options.timeoutMs ?? 30_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-redis-sentinel-'));
  const servers: RedisNode[] = [];
  const sentinels: RedisNode[] = [];
  async function stop() {
    await Promise.all([...servers, ...sentinels].map((node) => node.daemon.kill('SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  }
  const waitOptions = (ms = timeLeft()): WaitOptions => ({
    timeoutMs: ms,
    context: async () => (await Promise.all([...servers, ...sentinels].map((node) => node.daemon.logTail()))).join('\n'),
  });

  try {
    // The full sync of a new replica starts at once, not after the default 5 s wait for more replicas.
    const replication = ['--repl-diskless-sync-delay', '0'];
    const master = await startRedisNode({ dir, name: 'master', args: () => replication, startTimeoutMs: timeLeft() });
    servers.push(master);
    const replica = await startRedisNode({ dir, name: 'replica', args: () => [...replication, '--replicaof', '127.0.0.1', String(master.port)], startTimeoutMs: timeLeft() });
    servers.push(replica);
    await waitFor('the replica to finish its first sync', async () => parseInfo(await askRedis(replica.port, 'INFO', 'replication')).master_link_status === 'up', waitOptions());

    for (let i = 1; i <= SENTINELS; i++) {
      // Sentinel rewrites its config file (what it learns: replicas, other sentinels, epochs).
      const configFile = path.join(dir, `sentinel-${i}.conf`);
      await writeFile(configFile, [
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${options.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${MASTER_NAME} ${options.failoverTimeoutMs ?? 3000}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'));
      sentinels.push(await startRedisNode({ dir, name: `sentinel-${i}`, configFile, args: () => ['--sentinel'], startTimeoutMs: timeLeft() }));
    }
    // A failover needs each sentinel to know the replica (from the master's INFO) and the
    // other sentinels (from their hello messages, every 2 s): killing the master earlier
    // leaves it down for good.
    for (const sentinel of sentinels) {
      await waitFor(`${sentinel.name} to know the replica and the other sentinels`, async () => {
        const fields = pairs(await askRedis(sentinel.port, 'SENTINEL', 'MASTER', MASTER_NAME));
        if (fields['num-slaves'] !== '1' || fields['num-other-sentinels'] !== String(SENTINELS - 1)) return false;
        return String(await askRedis(sentinel.port, 'SENTINEL', 'CKQUORUM', MASTER_NAME)).startsWith('OK');
      }, waitOptions());
    }

    let lastKilled: Address = { host: '127.0.0.1', port: master.port };
    const setup: RedisSentinel = {
      sentinels: sentinels.map((s) => s.address).join(','),
      sentinelAddresses: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
      masterName: MASTER_NAME,
      dir,
      startupMs: performance.now() - started,
      async master() {
        const reported = await Promise.all(sentinels.map(async (s) => (await askRedis(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as [string, string]));
        const distinct = new Set(reported.map(([host, port]) => `${host}:${port}`));
        if (distinct.size !== 1) throw new Error(`the sentinels disagree on the master: ${[...distinct].join(', ')}`);
        const [host, port] = reported[0]!;
        return { host, port: Number(port) };
      },
      async killMaster() {
        const current = await setup.master();
        const server = servers.find((s) => s.port === current.port);
        if (!server) throw new Error(`the master ${current.host}:${current.port} is not one of this setup's servers`);
        await server.daemon.kill('SIGKILL');
        lastKilled = current;
        return current;
      },
      async waitForFailover(ms = 30_000) {
        return waitFor(`the sentinels to promote a new master in place of ${lastKilled.host}:${lastKilled.port}`, async () => {
          const now = await setup.master();
          if (now.port === lastKilled.port) return undefined;
          const role = (await askRedis(now.port, 'ROLE')) as [string];
          return role[0] === 'master' && now;
        }, waitOptions(ms));
      },
      pids: () => [...servers, ...sentinels].filter((node) => !node.daemon.exitReason()).map((node) => node.daemon.pid),
      stop,
    };
    return setup;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A flat [field, value, field, value...] reply (SENTINEL MASTER) as an object. */
function pairs(reply: unknown): Record<string, string> {
  const list = reply as string[];
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i]!] = list[i + 1]!;
  return fields;
}
