/**
 * Runs a command-line tool to completion (monmaptool, radosgw-admin, redis-cli...) with a
 * deadline: a tool that hangs on an unreachable server is killed, and the error carries
 * its output.
 */
import { execFile } from 'node:child_process';
import { diesWithParent } from '../../scripts/lib/dies-with-parent.js';

export function runTool(command: string, args: string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<string> {
  // A tool left waiting on a server is killed with the test that ran it, not left behind.
  const [file, argv] = diesWithParent(command, args, 'KILL');
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: options.timeoutMs, killSignal: 'SIGKILL', env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `killed after ${options.timeoutMs} ms` : `failed (${err.code ?? err.message})`;
        reject(new Error(`${command} ${args.join(' ')} ${why}\n${stderr}${stdout}`.trimEnd()));
      } else {
        resolve(stdout);
      }
    });
  });
}
