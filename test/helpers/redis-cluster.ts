/**
 * A real Redis Cluster for a test file: three masters (no replicas) on free loopback
 * ports, slots spread over them by `redis-cli --cluster create`, in a temp folder of its
 * own. Resolves once every node reports cluster_state:ok; `stop()` kills the three
 * servers and removes the folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { askRedis, parseInfo, startRedisNode, type RedisNode } from './redis-node.js';
import { runTool } from './run-tool.js';
import { deadline, waitFor } from './wait.js';

export interface RedisCluster {
  /** "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3": the seed list a cluster client takes. */
  nodes: string;
  /** The same as ioredis `Cluster` start-up nodes. */
  startupNodes: { host: string; port: number }[];
  dir: string;
  /** How long start-up took, in ms. */
  startupMs: number;
  /** Process ids of its servers still running. */
  pids(): number[];
  /** Kills the servers and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

const MASTERS = 3;

/** `timeoutMs` caps the whole start-up (default 30 s). */
export async function startRedisCluster(options: { timeoutMs?: number } = {}): Promise<RedisCluster> {
  const started = performance.now();
  const timeLeft = deadline(options.timeoutMs ?? 30_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-redis-cluster-'));
  const nodes: RedisNode[] = [];
  async function stop() {
    // SIGKILL: nothing here is worth a clean shutdown.
    await Promise.all(nodes.map((node) => node.daemon.kill('SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  }

  try {
    for (let i = 1; i <= MASTERS; i++) {
      nodes.push(await startRedisNode({
        dir,
        name: `node-${i}`,
        // The bus port is picked too (cluster-port, Redis 7): the default, port + 10000, may
        // be taken, or above 65535 for a port from the ephemeral range.
        portCount: 2,
        args: ([, busPort]) => ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', `nodes-${i}.conf`],
        startTimeoutMs: timeLeft(),
      }));
    }
    const addresses = nodes.map((node) => node.address);
    await runTool('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeoutMs: timeLeft() });
    // redis-cli returns once the nodes agree on the slots; each node says ok only once it
    // knows every slot is served, and a master not before 2 s after its own start.
    for (const node of nodes) {
      await waitFor(`${node.name} to report cluster_state:ok`, async () => parseInfo(await askRedis(node.port, 'CLUSTER', 'INFO')).cluster_state === 'ok', {
        timeoutMs: timeLeft(),
        giveUpIf: () => {
          const dead = nodes.find((n) => n.daemon.exitReason());
          return dead && `${dead.name} ${dead.daemon.exitReason()}`;
        },
        context: async () => (await Promise.all(nodes.map((n) => n.daemon.logTail()))).join('\n'),
      });
    }
    return {
      nodes: addresses.join(','),
      startupNodes: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
      dir,
      startupMs: performance.now() - started,
      pids: () => nodes.filter((node) => !node.daemon.exitReason()).map((node) => node.daemon.pid),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
