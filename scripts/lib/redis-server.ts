/**
 * Runs a private redis-server: on a free loopback port (or a given one), with its files
 * in a given folder. Used by `npm start` when REDIS_URL is not set, by the local cluster,
 * and by the tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { diesWithParent } from './dies-with-parent.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function ping(where: number | string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = typeof where === 'string' ? net.connect(where) : net.connect(where, '127.0.0.1');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

export interface RedisProcess {
  /** redis://127.0.0.1:<port>, or unix://<socket path> for a server on a unix socket. */
  url: string;
  /** The TCP port (0 when it listens on a unix socket only). */
  port: number;
  /** Stops it: SIGTERM (Redis writes its append-only file and exits) or SIGKILL (a crash). */
  kill(crash?: boolean): Promise<void>;
  /** Starts it again on the same port and folder, after `kill`. */
  start(): Promise<void>;
}

export interface RedisProcessOptions {
  dir: string;
  port?: number;
  appendOnly?: boolean;
  /**
   * Listen on a unix socket in `dir` instead of TCP: no free port has to be picked first
   * (a port free now can be taken before Redis binds it).
   */
  unixSocket?: boolean;
}

export async function startRedisProcess(options: RedisProcessOptions): Promise<RedisProcess> {
  const socketPath = options.unixSocket ? path.join(options.dir, 'redis.sock') : undefined;
  const port = socketPath ? 0 : (options.port ?? (await freePort()));
  let child: ChildProcess | undefined;

  async function start() {
    const listen = socketPath ? ['--port', '0', '--unixsocket', socketPath, '--unixsocketperm', '700'] : ['--port', String(port), '--bind', '127.0.0.1'];
    const started = spawn(
      ...diesWithParent('redis-server', [...listen, '--dir', options.dir, '--save', '', '--appendonly', options.appendOnly ? 'yes' : 'no', '--maxmemory-policy', 'noeviction']),
      { stdio: 'ignore' },
    );
    child = started;
    const failed = new Promise<never>((_, reject) => {
      started.once('error', (err) => reject(new Error(`redis-server could not start: ${err.message}`)));
      started.once('exit', (code) => reject(new Error(`redis-server exited (${code}) on ${socketPath ?? `port ${port}`}`)));
    });
    const answered = (async () => {
      for (let i = 0; i < 800; i++) {
        if (await ping(socketPath ?? port)) return;
        await sleep(25);
      }
      throw new Error(`redis-server on ${socketPath ?? `port ${port}`} did not answer`);
    })();
    await Promise.race([answered, failed]);
    failed.catch(() => undefined);
  }

  async function kill(crash = false) {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(crash ? 'SIGKILL' : 'SIGTERM');
    await exited;
  }

  await start();
  return { url: socketPath ? `unix://${socketPath}` : `redis://127.0.0.1:${port}`, port, kill, start };
}
