/**
 * `npm start` on a machine without Docker: with no REDIS_URL it runs a private
 * redis-server under DATA_DIR, and an upload through it completes; without redis-server
 * on PATH it says exactly what to install or set.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/redis-server.js';
import { repoRoot } from '../helpers/processes.js';
import { randomFile, sha256, uploadFile } from '../helpers/upload-client.js';

const folders: string[] = [];
after(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

function runStart(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts/start.ts')], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, exited, output: () => output };
}

test('without REDIS_URL it starts a private redis-server and the system works', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-start-'));
  folders.push(dataDir);
  const port = await freePort();
  const started = runStart({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', WORKER_PORT: '0' });
  try {
    await eventually(() => started.output().includes('ingest listening') && started.output().includes('worker ready'), { what: 'npm start ready' });
    assert.match(started.output(), /private redis-server started/);
    const url = `http://127.0.0.1:${port}`;
    const file = randomFile(300_000);
    await uploadFile(file, { urls: [url], identifier: 'started', chunkSize: 100_000 });
    const status = await eventually(async () => (await (await fetch(`${url}/uploads/started`)).json()) as Record<string, unknown>, {
      accept: (s) => s.state === 'complete' || s.state === 'failed',
      what: 'the upload merged',
    });
    assert.equal(status.state, 'complete');
    assert.equal(status.sha256, sha256(file));
    assert.ok((await readdir(path.join(dataDir, 'redis'))).length > 0, 'Redis keeps its files under DATA_DIR/redis');
  } finally {
    started.child.kill('SIGTERM');
  }
  assert.equal(await started.exited, 0);
});

test('without REDIS_URL and without redis-server it says what to install or set', async () => {
  // A PATH with node and nothing else.
  const bin = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-bin-'));
  folders.push(bin);
  await symlink(process.execPath, path.join(bin, 'node'));
  const started = runStart({ PATH: bin, DATA_DIR: path.join(bin, 'data') });
  assert.equal(await started.exited, 1);
  assert.match(started.output(), /apt-get install redis-server/);
  assert.match(started.output(), /set REDIS_URL/);
});
