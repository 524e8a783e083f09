/**
 * Runs a command-line tool to completion (monmaptool, radosgw-admin, redis-cli...) with a
 * deadline: a tool that hangs on an unreachable server is killed, and the error carries
 * its output.
 */
import { execFile } from 'node:child_process';

export function runTool(command: string, args: string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: options.timeoutMs, killSignal: 'SIGKILL', env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `killed after ${options.timeoutMs} ms` : `failed (${err.code ?? err.message})`;
        reject(new Error(`${command} ${args.join(' ')} ${why}\n${stderr}${stdout}`.trimEnd()));
      } else {
        resolve(stdout);
      }
    });
  });
}
