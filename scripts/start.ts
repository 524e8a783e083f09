/**
 * `npm start`: runs the ingest and the worker side by side, forwarding SIGTERM/SIGINT to
 * both and stopping both when either one exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const children: ChildProcess[] = ['ingest', 'worker'].map((service) =>
  spawn(process.execPath, ['--import', 'tsx', path.join(root, 'services', service, 'main.ts')], { stdio: 'inherit' }),
);

let exitCode = 0;
let stopping = false;
function stopAll(signal: NodeJS.Signals) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}
for (const child of children) {
  child.once('exit', (code) => {
    if (!stopping && code !== 0) exitCode = code ?? 1;
    stopAll('SIGTERM');
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(exitCode);
  });
}
process.once('SIGTERM', () => stopAll('SIGTERM'));
process.once('SIGINT', () => stopAll('SIGINT'));
