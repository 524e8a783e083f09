/**
 * One redis-server of a multi-server test setup (a cluster node, a replica, a sentinel):
 * on free loopback ports, its files in the setup's folder, started again on other ports
 * if one it was given is taken before it binds it. Also: one-off commands to a node.
 */
import path from 'node:path';
import { Redis } from 'ioredis';
import { spawnDaemon, type Daemon } from './daemon.js';
import { freePorts } from './ports.js';
import { waitFor } from './wait.js';

export interface RedisNodeOptions {
  /** The setup's folder: the node's log is `<name>.log`, its console output `<name>.out`. */
  dir: string;
  name: string;
  /** How many free ports it needs: the first is its client port (a cluster node also needs a bus port). */
  portCount?: number;
  /** Arguments after the common ones, for the ports picked. */
  args?: (ports: number[]) => string[];
  /** A config file to load first (a sentinel needs one it can rewrite). */
  configFile?: string;
  startTimeoutMs?: number;
}

export interface RedisNode {
  name: string;
  port: number;
  /** "127.0.0.1:<port>" */
  address: string;
  daemon: Daemon;
}

const ATTEMPTS = 3;

export async function startRedisNode(options: RedisNodeOptions): Promise<RedisNode> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(options.portCount ?? 1);
    const port = ports[0]!;
    const daemon = spawnDaemon({
      name: options.name,
      command: 'redis-server',
      args: [
        ...(options.configFile ? [options.configFile] : []),
        '--port', String(port), '--bind', '127.0.0.1', '--dir', options.dir,
        '--logfile', path.join(options.dir, `${options.name}.log`),
        // Test data only: no RDB snapshots, no append-only file.
        '--save', '', '--appendonly', 'no',
        ...(options.args?.(ports) ?? []),
      ],
      dir: options.dir,
      // redis-server renames itself "redis-server 127.0.0.1:<port>" once it runs.
      marker: new RegExp(`(127\\.0\\.0\\.1:${port}|--port ${port})(?!\\d)`),
      logFiles: [path.join(options.dir, `${options.name}.log`)],
    });
    try {
      await waitFor(`${options.name} (redis-server on port ${port}) to answer PING`, async () => (await askRedis(port, 'PING')) === 'PONG', {
        timeoutMs: options.startTimeoutMs ?? 10_000,
        giveUpIf: () => daemon.exitReason() && `it ${daemon.exitReason()}`,
        context: () => daemon.logTail(),
      });
      return { name: options.name, port, address: `127.0.0.1:${port}`, daemon };
    } catch (err) {
      await daemon.kill('SIGKILL');
      const portTaken = /address already in use/i.test(await daemon.logTail(20));
      if (attempt < ATTEMPTS && portTaken) continue;
      throw err;
    }
  }
}

/** Sends one command to the server on 127.0.0.1:port over a short-lived connection; rejects if it cannot. */
export async function askRedis(port: number, ...command: [string, ...(string | number)[]]): Promise<unknown> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
  });
  client.on('error', () => undefined); // reported through the rejected command instead
  try {
    await client.connect();
    return await client.call(...command);
  } finally {
    client.disconnect();
  }
}

/** A server's INFO-style "field:value" reply (INFO, CLUSTER INFO) as an object. */
export function parseInfo(text: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of String(text).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}
