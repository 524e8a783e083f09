/**
 * A Docker engine for the compose test. An engine that already answers is used and left
 * running; otherwise `dockerd` is started here with its defaults (data in /var/lib/docker,
 * so images and build cache survive from one run to the next) and stopped afterwards:
 * only that process, by its pid. An engine that cannot start is an error that says why,
 * never a skipped test.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GiveUp, run, waitFor } from './commands.js';

export interface DockerEngine {
  /** True when this process started dockerd (and `stop` stops it). */
  startedHere: boolean;
  version: string;
  stop(): Promise<void>;
}

async function serverVersion(): Promise<string | undefined> {
  const result = await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 }).catch(() => undefined);
  return result?.code === 0 ? result.stdout.toString().trim() : undefined;
}

export async function ensureDockerEngine(): Promise<DockerEngine> {
  if ((await run('docker', ['--version']).catch(() => undefined))?.code !== 0) {
    throw new Error('the docker CLI is not installed (Debian: apt-get install docker.io)');
  }
  const running = await serverVersion();
  if (running) return { startedHere: false, version: running, stop: async () => undefined };

  if (process.getuid?.() !== 0) throw new Error('no Docker engine answers, and starting dockerd needs root');
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-dockerd-'));
  const logFile = path.join(logDir, 'dockerd.log');
  const log = openSync(logFile, 'a');
  const dockerd = spawn('dockerd', [], { stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => dockerd.once('close', () => resolve()));
  let spawnError: Error | undefined;
  dockerd.once('error', (err) => (spawnError = err));
  const logTail = async () => (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-15).join('\n');

  const stop = async () => {
    if (dockerd.exitCode === null && dockerd.signalCode === null && !spawnError) {
      dockerd.kill('SIGTERM');
      // dockerd stops its containerd and any container still running before it exits.
      const killer = setTimeout(() => dockerd.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(logDir, { recursive: true, force: true });
  };
  try {
    const version = await waitFor('dockerd answering', async () => {
      if (spawnError) throw new GiveUp(`dockerd could not start: ${spawnError.message} (Debian: apt-get install docker.io)`);
      if (dockerd.exitCode !== null) throw new GiveUp(`dockerd exited (${dockerd.exitCode}):\n${await logTail()}`);
      return serverVersion();
    }, 60_000, 250);
    return { startedHere: true, version, stop };
  } catch (err) {
    const reason = err instanceof GiveUp ? err.message : `${(err as Error).message}; its log:\n${await logTail()}`;
    await stop();
    throw new Error(`the Docker engine could not be started: ${reason}`);
  }
}
