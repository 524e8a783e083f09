/**
 * A server process a test helper started (ceph-mon, radosgw, redis-server...): run in the
 * foreground as our child, so an early exit is seen at once, and stopped by the kernel when
 * the test process dies, however it ends (dies-with-parent.ts). Its stdout and stderr go to `<dir>/<name>.out` for error messages.
 *
 * `kill` signals it only while it is still our unreaped child and its /proc/<pid>/cmdline
 * names `marker` (its config file, its port): it never signals anything it did not start.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { diesWithParent } from '../../scripts/lib/dies-with-parent.js';
import { tailOf } from './wait.js';

export interface Daemon {
  name: string;
  pid: number;
  /** Why it is no longer running ("exited (1)", "killed by SIGKILL"), or undefined while it runs. */
  exitReason(): string | undefined;
  /** Resolves once it has exited (and was reaped). */
  exited: Promise<void>;
  /** Sends `signal`; resolves once it has exited (SIGKILL after `graceMs` if it has not). */
  kill(signal: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** Sends `signal` (SIGSTOP, SIGCONT...) and waits for nothing; false when it no longer runs. */
  signal(signal: NodeJS.Signals): Promise<boolean>;
  /** Tails of its console output and of any `logFiles`, for error messages. */
  logTail(lines?: number): Promise<string>;
}

export interface DaemonOptions {
  name: string;
  command: string;
  args: string[];
  /** Folder for `<name>.out`. */
  dir: string;
  /** What its /proc/<pid>/cmdline (arguments joined by spaces) must contain before it is signalled. */
  marker: string | RegExp;
  /** Log files it writes itself (tailed in error messages). */
  logFiles?: string[];
  env?: NodeJS.ProcessEnv;
}

export function spawnDaemon(options: DaemonOptions): Daemon {
  const outFile = path.join(options.dir, `${options.name}.out`);
  const out = openSync(outFile, 'a');
  const child = spawn(...diesWithParent(options.command, options.args), { stdio: ['ignore', out, out], env: options.env ?? process.env });
  closeSync(out);
  let reason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      reason = `could not start: ${err.message}`;
      resolve();
    });
    child.once('exit', (code, signal) => {
      reason = signal ? `killed by ${signal}` : `exited (${code})`;
      resolve();
    });
  });
  const pid = child.pid ?? -1;

  async function ours(): Promise<boolean> {
    if (reason !== undefined || pid < 0) return false;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    return typeof options.marker === 'string' ? cmdline.includes(options.marker) : options.marker.test(cmdline);
  }

  return {
    name: options.name,
    pid,
    exitReason: () => reason,
    exited,
    async kill(signal, graceMs = 10_000) {
      if (!(await ours())) return;
      child.kill(signal);
      if (signal === 'SIGKILL') return exited;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
      if ((await Promise.race([exited, late])) === 'late' && (await ours())) child.kill('SIGKILL');
      clearTimeout(timer);
      await exited;
    },
    async signal(signal) {
      if (!(await ours())) return false;
      return child.kill(signal);
    },
    async logTail(lines = 20) {
      const files = [outFile, ...(options.logFiles ?? [])];
      return (await Promise.all(files.map((file) => tailOf(file, lines)))).join('\n');
    },
  };
}
