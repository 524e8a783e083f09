/**
 * `npm start`: runs the ingest and the worker side by side. When REDIS_URL is not set it
 * first starts a private redis-server from PATH, with its data under DATA_DIR/redis.
 * SIGTERM/SIGINT stop everything; when either service exits, the others are stopped too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '../services/shared/config.js';
import { diesWithParent } from './lib/dies-with-parent.js';
import { SERVICE_NODE_FLAGS } from './lib/node-flags.js';
import { redisServerInstalled, startRedisProcess, type RedisProcess } from './lib/redis-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };
let redis: RedisProcess | undefined;

if (!env.REDIS_URL) {
  if (!redisServerInstalled()) {
    process.stderr.write(
      'REDIS_URL is not set and no redis-server is on PATH.\n' +
        'Either install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)\n' +
        'or set REDIS_URL to a Redis you run, e.g. REDIS_URL=redis://127.0.0.1:6379 npm start\n',
    );
    process.exit(1);
  }
  const dir = path.join(loadConfigOrExit(env).dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  redis = await startRedisProcess({ dir, appendOnly: true });
  env.REDIS_URL = redis.url;
  process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), service: 'start', msg: 'private redis-server started', url: redis.url, dir })}\n`);
}

const children: ChildProcess[] = (['ingest', 'worker'] as const).map((service) =>
  spawn(...diesWithParent(process.execPath, [...SERVICE_NODE_FLAGS[service], '--import', 'tsx', path.join(root, 'services', service, 'main.ts')]), { stdio: 'inherit', env }),
);

let exitCode = 0;
let stopping = false;
function stopAll(signal: NodeJS.Signals) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}
for (const child of children) {
  child.once('exit', async (code) => {
    if (!stopping && code !== 0) exitCode = code ?? 1;
    stopAll('SIGTERM');
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) {
      await redis?.kill();
      process.exit(exitCode);
    }
  });
}
process.once('SIGTERM', () => stopAll('SIGTERM'));
process.once('SIGINT', () => stopAll('SIGINT'));
