/**
 * Runs a private redis-server: on a free loopback port (or a given one), with its files
 * in a given folder. Used by `npm start` when REDIS_URL is not set, by the local cluster,
 * and by the tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

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

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

export interface RedisProcess {
  url: string;
  port: number;
  /** Stops it: SIGTERM (Redis writes its append-only file and exits) or SIGKILL (a crash). */
  kill(crash?: boolean): Promise<void>;
  /** Starts it again on the same port and folder, after `kill`. */
  start(): Promise<void>;
}

export async function startRedisProcess(options: { dir: string; port?: number; appendOnly?: boolean }): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  async function start() {
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', options.dir, '--save', '',
        '--appendonly', options.appendOnly ? 'yes' : 'no', '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    child = started;
    const failed = new Promise<never>((_, reject) => {
      started.once('error', (err) => reject(new Error(`redis-server could not start: ${err.message}`)));
      started.once('exit', (code) => reject(new Error(`redis-server exited (${code}) on port ${port}`)));
    });
    const answered = (async () => {
      for (let i = 0; i < 400; i++) {
        if (await ping(port)) return;
        await sleep(25);
      }
      throw new Error(`redis-server on port ${port} did not answer`);
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
  return { url: `redis://127.0.0.1:${port}`, port, kill, start };
}
