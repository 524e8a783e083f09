/**
 * Real Chunkyard processes for tests that kill them. Every process started here is
 * killed by `killAll()`, which test files call in `after`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { diesWithParent } from '../../scripts/lib/dies-with-parent.js';
import { onJsonLines } from '../../scripts/lib/json-lines.js';
import { SERVICE_NODE_FLAGS, type ServiceName } from '../../scripts/lib/node-flags.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const running = new Set<ChildProcess>();

export interface ServiceProcess {
  child: ChildProcess;
  /** Lines of pino JSON the process printed so far. */
  logs: Record<string, unknown>[];
  waitForLog(message: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startService(service: ServiceName, env: Record<string, string>): ServiceProcess {
  const args = [...SERVICE_NODE_FLAGS[service], '--import', 'tsx', path.join(repoRoot, 'services', service, 'main.ts')];
  const child = spawn(...diesWithParent(process.execPath, args), {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'info', WORKER_PORT: '0', OPS_PORT: '0', MIN_FREE_DISK: '1MB', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const logs: Record<string, unknown>[] = [];
  const waiters: { message: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  onJsonLines(child.stdout!, (line) => {
    logs.push(line);
    for (const waiter of waiters.filter((w) => w.message === line.msg)) waiter.resolve(line);
  });
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => {
    stderr += data.toString();
  });

  return {
    child,
    logs,
    waitForLog(message, timeoutMs = 20_000) {
      const seen = logs.find((line) => line.msg === message);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${service} did not log "${message}"; stderr: ${stderr}`)), timeoutMs);
        child.once('exit', (code) => reject(new Error(`${service} exited (${code}) before logging "${message}"; stderr: ${stderr}`)));
        waiters.push({ message, resolve: (line) => { clearTimeout(timer); resolve(line); } });
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * Lowers a running process's file descriptor limit (util-linux `prlimit`, soft and hard).
 * Applied once the process is ready, not from its start: loading its modules (tsx reads
 * many files at once) needs more than the small limits the tests give it, and how many
 * depends on how busy the machine is.
 */
export async function limitFileDescriptors(service: ServiceProcess, limit: number): Promise<void> {
  await promisify(execFile)('prlimit', ['--pid', String(service.child.pid), `--nofile=${limit}:${limit}`]);
}

export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}
