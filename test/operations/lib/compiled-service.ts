/**
 * A compiled service (`node dist/services/<name>/main.js`) started from a production
 * install, as the Docker image runs it: ready once its operations port answers /readyz,
 * stopped with SIGTERM as `docker stop` would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { diesWithParent } from '../../../scripts/lib/dies-with-parent.js';
import { SERVICE_NODE_FLAGS, type ServiceName } from '../../../scripts/lib/node-flags.js';
import { GiveUp, waitFor } from './commands.js';

export interface CompiledService {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function startCompiledService(
  installDir: string,
  name: ServiceName,
  env: Record<string, string>,
  readyUrl: string,
): Promise<CompiledService> {
  const child = spawn(...diesWithParent(process.execPath, [...SERVICE_NODE_FLAGS[name], path.join('dist/services', name, 'main.js')]), {
    cwd: installDir,
    // Only what the container would have: no NODE_OPTIONS, no tsx, no test runner settings.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  const service: CompiledService = {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
  try {
    await waitFor(`${name} ready at ${readyUrl}`, async () => {
      if (child.exitCode !== null) throw new GiveUp(`${name} exited (${child.exitCode}):\n${output.slice(-2000)}`);
      const response = await fetch(readyUrl).catch(() => undefined);
      await response?.arrayBuffer();
      return response?.status === 200 ? true : undefined;
    }, 30_000, 100);
  } catch (err) {
    await service.stop();
    if (err instanceof GiveUp) throw err;
    throw new Error(`${(err as Error).message}; its output:\n${output.slice(-2000)}`);
  }
  return service;
}
