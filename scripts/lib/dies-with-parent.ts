/**
 * Runs a child so that the kernel stops it when the process that started it dies, however
 * that process ends (a test run killed with SIGKILL included): util-linux's `setpriv
 * --pdeathsig` sets PR_SET_PDEATHSIG and then execs the command, so the child keeps its pid
 * and its command line. Without this, a Redis or a Sentinel left over from a killed run keeps
 * its port, and a stale Sentinel even reconfigures a later run's server that reuses a port it
 * remembers. Where setpriv is missing (not Linux), the command runs as it is.
 *
 * SIGTERM rather than SIGKILL: Redis writes its append-only file and the services shut down
 * cleanly. The signal follows the death of the spawning thread, which for Node's
 * child_process is the main thread.
 */
import { spawnSync } from 'node:child_process';

let setprivFound: boolean | undefined;

function hasSetpriv(): boolean {
  setprivFound ??= spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
  return setprivFound;
}

export function diesWithParent(command: string, args: readonly string[]): [string, string[]] {
  return hasSetpriv() ? ['setpriv', ['--pdeathsig', 'TERM', '--', command, ...args]] : [command, [...args]];
}
