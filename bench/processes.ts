/**
 * Child processes of the benchmark: the real Chunkyard services and the baseline servers,
 * each a `node --import tsx` process of its own whose pino/JSON stdout lines we read.
 * Every child is killed when the benchmark exits, fails or is interrupted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const running = new Set<ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];

export function killAllChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** Registers a cleanup (temp folders) run by `cleanupAll`, last registered first. */
export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Runs the cleanups (graceful stops first, so --cpu-prof profiles get written), then kills what is left. */
export async function cleanupAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  killAllChildren();
}

process.once('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanupAll().finally(() => process.exit(130));
  });
}

export type LogLine = Record<string, unknown> & { msg?: string; time?: number };

export interface NodeProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logs: LogLine[];
  onLog(listener: (line: LogLine) => void): () => void;
  waitForLog(message: string, timeoutMs?: number): Promise<LogLine>;
  stop(): Promise<void>;
}

export function spawnNode(name: string, script: string, env: Record<string, string>, nodeArgs: string[] = [], cwd = repoRoot): NodeProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  running.add(child);
  child.once('exit', () => running.delete(child));
  const logs: LogLine[] = [];
  const listeners = new Set<(line: LogLine) => void>();
  let buffered = '';
  child.stdout!.on('data', (data: Buffer) => {
    buffered += data.toString();
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      // Keep only what is not per-merge chatter, so memory stays flat over a long run.
      if (line.msg !== 'merged') logs.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000);
  });

  return {
    name,
    pid: child.pid,
    child,
    logs,
    onLog(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitForLog(message, timeoutMs = 60_000) {
      const seen = logs.find((line) => line.msg === message);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const off = () => {
          clearTimeout(timer);
          listeners.delete(listener);
          child.off('exit', onExit);
        };
        const timer = setTimeout(() => {
          off();
          reject(new Error(`${name} did not log "${message}"; stderr: ${stderr}`));
        }, timeoutMs);
        const onExit = (code: number | null) => {
          off();
          reject(new Error(`${name} exited (${code}) before logging "${message}"; stderr: ${stderr}`));
        };
        const listener = (line: LogLine) => {
          if (line.msg !== message) return;
          off();
          resolve(line);
        };
        listeners.add(listener);
        child.once('exit', onExit);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A copy of the services as they are now (plus package.json, node_modules linked), so a
 * long run measures one version of the code even while the working tree changes.
 * BENCH_SNAPSHOT=0 runs the working tree directly.
 */
export async function serviceRoot(): Promise<string> {
  if (process.env.BENCH_SNAPSHOT === '0') return repoRoot;
  const root = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-bench-src-'));
  onCleanup(() => rm(root, { recursive: true, force: true }));
  await cp(path.join(repoRoot, 'services'), path.join(root, 'services'), { recursive: true });
  await cp(path.join(repoRoot, 'package.json'), path.join(root, 'package.json'));
  await cp(path.join(repoRoot, 'tsconfig.json'), path.join(root, 'tsconfig.json'));
  await symlink(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'));
  return root;
}
