/**
 * What the Dockerfile does, in temp folders: compile with `npm run build` (against the
 * repository's node_modules), then install only production dependencies with `npm ci
 * --omit=dev` beside package.json, package-lock.json and dist/, with nothing else around.
 */
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../helpers/processes.js';
import { runOk } from './commands.js';

export interface ProductionInstall {
  /** Holds package.json, package-lock.json, dist/ and the production node_modules/. */
  dir: string;
  remove(): Promise<void>;
}

const BUILD_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'services'];
const RUNTIME_FILES = ['package.json', 'package-lock.json'];

export async function buildAndInstallForProduction(): Promise<ProductionInstall> {
  // Under the system temp folder, never inside the repository: Node must not find the
  // repository's node_modules (dev dependencies included) by walking up from dist/.
  const buildDir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-build-'));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-production-'));
  const remove = async () => {
    await rm(buildDir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const name of BUILD_INPUTS) await cp(path.join(repoRoot, name), path.join(buildDir, name), { recursive: true });
    await symlink(path.join(repoRoot, 'node_modules'), path.join(buildDir, 'node_modules'));
    await runOk('npm', ['run', 'build'], { cwd: buildDir, timeoutMs: 120_000 });

    for (const name of RUNTIME_FILES) await cp(path.join(repoRoot, name), path.join(dir, name));
    await cp(path.join(buildDir, 'dist'), path.join(dir, 'dist'), { recursive: true });
    await runOk('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      env: { ...process.env, NODE_ENV: 'production' },
      timeoutMs: 180_000,
    });
    await rm(buildDir, { recursive: true, force: true });
    return { dir, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
