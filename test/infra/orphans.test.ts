/**
 * A test process killed outright (SIGKILL: a runner's timeout, an operator's kill -9) takes
 * the servers it started with it, so they never hold ports or reconfigure a later run's
 * servers (scripts/lib/dies-with-parent.ts). The helpers' own stop() covers every other end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from '../helpers/eventually.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** Alive and not a zombie waiting for whoever adopted it to reap it. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The process whose command line names `marker`. */
function pidNaming(marker: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = (() => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    })();
    if (cmdline.includes(marker) && cmdline.startsWith('redis-server')) return Number(entry);
  }
  return undefined;
}

test('a redis-server started by a test process stops when that process is SIGKILLed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-orphans-'));
  dirs.push(dir);
  // A stand-in for a test file: starts a private Redis the way the helpers do, says so, waits.
  const script = `
    import { startRedisProcess } from ${JSON.stringify(path.join(repoRoot, 'scripts/lib/redis-server.ts'))};
    await startRedisProcess({ dir: ${JSON.stringify(dir)}, unixSocket: true });
    console.log('started');
    setInterval(() => {}, 1000);`;
  const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    owner.stdout!.once('data', () => resolve());
    owner.once('exit', (code) => reject(new Error(`the owner exited (${code}) before starting Redis`)));
  });
  const redisPid = pidNaming(path.join(dir, 'redis.sock'));
  assert.ok(redisPid !== undefined && running(redisPid), 'Redis runs while its owner does');

  owner.kill('SIGKILL');
  await eventually(() => !running(redisPid), { what: `redis-server ${redisPid} to stop after its owner was killed`, timeoutMs: 30_000 });
});
