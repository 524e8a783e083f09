/**
 * Child processes of the benchmark: the real Chunkyard services and the baseline servers,
 * each a node process of its own (compiled, or `--import tsx`) whose pino/JSON stdout lines we read.
 * Every child is killed when the benchmark exits, fails or is interrupted.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onJsonLines } from '../scripts/lib/json-lines.js';

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

/**
 * Runs a benchmark script: prints a failure, then always stops every child and cleans up,
 * and exits (nothing of ours is left running; a stray timer or socket must not keep it up).
 */
export async function runScript(name: string, main: () => Promise<void>): Promise<never> {
  try {
    await main();
  } catch (err) {
    process.stderr.write(`${name} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    await cleanupAll();
  }
  process.exit();
}
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
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...loader, script], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  running.add(child);
  child.once('exit', () => running.delete(child));
  const logs: LogLine[] = [];
  const listeners = new Set<(line: LogLine) => void>();
  onJsonLines<LogLine>(child.stdout!, (line) => {
    // Keep only what is not per-merge chatter, so memory stays flat over a long run.
    if (line.msg !== 'merged') logs.push(line);
    for (const listener of listeners) listener(line);
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

/** The servers of bench/baselines (`<kind>-server.ts`). */
export const BASELINE_KINDS = ['plain', 'busboy', 'koa-floor', 'tus'] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

/** Where the services and baselines run from. */
export interface Build {
  ingest: string;
  worker: string;
  /** Directory of plain-server, busboy-server, tus-server (.js or .ts). */
  baselines: string;
  runtime: 'compiled' | 'tsx';
}

function tsc(args: string[]): void {
  execFileSync(path.join(repoRoot, 'node_modules/.bin/tsc'), args, { cwd: repoRoot, stdio: ['ignore', 2, 2] }); // errors to stderr, not the report
}

/** Copies what `npm run build` copies besides the compiled code: every file of services/ that is not TypeScript (Lua scripts, page assets). */
async function copyAssets(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) await copyAssets(source, target);
    else if (entry.isFile() && !entry.name.endsWith('.ts')) {
      await mkdir(to, { recursive: true });
      await cp(source, target);
    }
  }
}

/** The commit BENCH_REF names (full hash), or undefined when the working tree is measured. */
export function benchRef(ref = process.env.BENCH_REF): string | undefined {
  if (!ref) return undefined;
  return execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: repoRoot, encoding: 'utf8' }).trim();
}

/**
 * By default the services are compiled, as the Docker image runs them (`npm run build`:
 * plain `node`, no tsx loader thread and esbuild child, which add ~50 MB of RSS), into a
 * temp folder: a snapshot, so a long run measures one version of the code even while the
 * working tree changes. The baselines are compiled the same way. BENCH_REF=<commit> takes
 * services/ from that commit instead of the working tree (other work in progress in the
 * tree is then not measured). BENCH_RUNTIME=tsx runs everything from the working tree with
 * `node --import tsx` instead.
 */
export async function prepareBuild(options: { ref?: string; patch?: string } = { ref: process.env.BENCH_REF, patch: process.env.BENCH_PATCH }): Promise<Build> {
  if (process.env.BENCH_RUNTIME === 'tsx') {
    if (options.ref || options.patch) throw new Error('BENCH_RUNTIME=tsx runs the working tree: no BENCH_REF or BENCH_PATCH');
    return {
      ingest: path.join(repoRoot, 'services/ingest/main.ts'),
      worker: path.join(repoRoot, 'services/worker/main.ts'),
      baselines: path.join(repoRoot, 'bench/baselines'),
      runtime: 'tsx',
    };
  }
  const root = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-bench-build-'));
  onCleanup(() => rm(root, { recursive: true, force: true }));
  let srcRoot = repoRoot;
  const ref = benchRef(options.ref);
  const patch = options.patch;
  if (ref || patch) {
    // A copy of services/: from a commit (BENCH_REF) or the working tree, then patched for an
    // A/B experiment (BENCH_PATCH, e.g. bench/experiments/*.diff).
    srcRoot = path.join(root, 'src');
    await mkdir(srcRoot, { recursive: true });
    const files = ['services', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
    if (ref) {
      const archive = execFileSync('git', ['archive', '--format=tar', ref, ...files], { cwd: repoRoot, maxBuffer: 256 * 2 ** 20 });
      execFileSync('tar', ['-x', '-C', srcRoot], { input: archive });
    } else {
      for (const file of files) await cp(path.join(repoRoot, file), path.join(srcRoot, file), { recursive: true });
    }
    await symlink(path.join(repoRoot, 'node_modules'), path.join(srcRoot, 'node_modules'));
    if (patch) {
      execFileSync('patch', ['-p1', '-d', srcRoot, '-i', path.resolve(patch)], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
  }
  tsc(['-p', path.join(srcRoot, 'tsconfig.build.json'), '--outDir', path.join(root, 'dist')]);
  await copyAssets(path.join(srcRoot, 'services'), path.join(root, 'dist/services'));
  tsc(['--ignoreConfig', '--outDir', path.join(root, 'baselines'), '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--strict',
    ...BASELINE_KINDS.map((kind) => path.join(repoRoot, 'bench/baselines', `${kind}-server.ts`))]);
  await cp(path.join(repoRoot, 'package.json'), path.join(root, 'package.json'));
  await symlink(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'));
  return {
    ingest: path.join(root, 'dist/services/ingest/main.js'),
    worker: path.join(root, 'dist/services/worker/main.js'),
    baselines: path.join(root, 'baselines'),
    runtime: 'compiled',
  };
}
