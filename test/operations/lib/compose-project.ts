/**
 * One compose project of the repository's docker-compose.yml (and any override files),
 * under a name of its own, driven through whichever CLI the machine has: the `docker
 * compose` plugin, or Debian's docker-compose v1 (the files are written for both).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../helpers/processes.js';
import { run, runOk, waitFor } from './commands.js';

export interface ContainerInfo {
  id: string;
  name: string;
  service: string;
  /** Its address on the project's network. */
  ip: string;
  health: string | undefined;
  startedAt: string;
  restartCount: number;
  mounts: Mount[];
}

export interface Mount {
  type: string;
  /** A volume's name (an anonymous one's is a random id); absent for a bind mount. */
  name?: string;
  source: string;
  destination: string;
}

interface Inspected {
  Id: string;
  Name: string;
  RestartCount: number;
  State: { Running: boolean; StartedAt: string; Health?: { Status: string } };
  Config: { Labels: Record<string, string> };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
  Mounts: { Type: string; Name?: string; Source: string; Destination: string }[];
}

/** `docker compose` when the plugin is there, else `docker-compose` (v1). */
async function composeCommand(): Promise<string[]> {
  if ((await run('docker', ['compose', 'version']).catch(() => undefined))?.code === 0) return ['docker', 'compose'];
  if ((await run('docker-compose', ['version']).catch(() => undefined))?.code === 0) return ['docker-compose'];
  throw new Error('neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install docker-compose)');
}

export class ComposeProject {
  private constructor(
    readonly name: string,
    readonly cli: string[],
    /** The compose files, relative to the repository, in the order compose merges them. */
    readonly files: string[],
    private readonly envFile: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * `variables` go in an env file, as an operator's .env would. Nothing else of this
   * process's environment reaches the compose file (a stray LOG_LEVEL or HOST must not),
   * and the repository's own .env, if a developer has one, is not read.
   */
  static async create(name: string, variables: Record<string, string>, files = ['docker-compose.yml']): Promise<ComposeProject> {
    const cli = await composeCommand();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-compose-'));
    const envFile = path.join(dir, '.env');
    await writeFile(envFile, Object.entries(variables).map(([key, value]) => `${key}=${value}\n`).join(''));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    if (process.env.DOCKER_HOST) env.DOCKER_HOST = process.env.DOCKER_HOST;
    return new ComposeProject(name, cli, files, envFile, env);
  }

  /** Runs a compose subcommand for this project; resolves with its stdout. */
  compose(args: string[], timeoutMs = 300_000): Promise<string> {
    const [command, ...pre] = this.cli;
    const files = this.files.flatMap((file) => ['--file', path.join(repoRoot, file)]);
    const global = ['--project-name', this.name, '--project-directory', repoRoot, ...files, '--env-file', this.envFile];
    return runOk(command!, [...pre, ...global, ...args], { cwd: repoRoot, env: this.env, timeoutMs });
  }

  /** Removes the env file (after `down`). */
  async dispose(): Promise<void> {
    await rm(path.dirname(this.envFile), { recursive: true, force: true });
  }

  /** The project's running containers of `service`, from the engine. */
  async containers(service: string): Promise<ContainerInfo[]> {
    const ids = (await runOk('docker', ['ps', '--quiet', '--filter', `label=com.docker.compose.project=${this.name}`, '--filter', `label=com.docker.compose.service=${service}`]))
      .split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const inspected = JSON.parse(await runOk('docker', ['inspect', ...ids])) as Inspected[];
    return inspected.map((c) => ({
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      service: c.Config.Labels['com.docker.compose.service'] ?? service,
      ip: Object.values(c.NetworkSettings.Networks)[0]?.IPAddress ?? '',
      health: c.State.Health?.Status,
      startedAt: c.State.StartedAt,
      restartCount: c.RestartCount,
      mounts: c.Mounts.map((m) => ({ type: m.Type, name: m.Name, source: m.Source, destination: m.Destination })),
    }));
  }

  /** Waits until `service` runs `count` containers, each healthy (or running, without a healthcheck). */
  waitHealthy(service: string, count: number, timeoutMs = 120_000): Promise<ContainerInfo[]> {
    return waitFor(`${count} healthy ${service} container(s)`, async () => {
      const containers = await this.containers(service);
      const healthy = containers.filter((c) => c.health === undefined || c.health === 'healthy');
      return containers.length === count && healthy.length === count ? containers : undefined;
    }, timeoutMs, 250);
  }

  /** A container's stdout and stderr since `since` (an ISO time), as `docker logs` keeps them. */
  async logs(container: ContainerInfo, since?: string): Promise<{ stdout: string; stderr: string }> {
    const result = await run('docker', ['logs', ...(since ? ['--since', since] : []), container.id], { timeoutMs: 30_000 });
    if (result.code !== 0) throw new Error(`docker logs ${container.name}: ${result.stderr}`);
    return { stdout: result.stdout.toString(), stderr: result.stderr };
  }

  /**
   * What a failed start needs to be understood: every container of the project (running or
   * not) with its state, its last health checks and the end of its logs.
   */
  async describe(): Promise<string> {
    const ids = (await runOk('docker', ['ps', '--all', '--quiet', '--filter', `label=com.docker.compose.project=${this.name}`])).split('\n').filter(Boolean);
    if (ids.length === 0) return `project ${this.name}: no containers`;
    const inspected = JSON.parse(await runOk('docker', ['inspect', ...ids])) as (Inspected & { State: { Status: string; ExitCode: number; Health?: { Log?: { Output: string; ExitCode: number }[] } } })[];
    const parts: string[] = [];
    for (const c of inspected) {
      const checks = (c.State.Health?.Log ?? []).slice(-3).map((check) => `  check exited ${check.ExitCode}: ${check.Output.trim().slice(0, 300)}`);
      const logs = await run('docker', ['logs', '--tail', '15', c.Id], { timeoutMs: 30_000 });
      const tail = `${logs.stdout.toString()}${logs.stderr}`.trim().split('\n').map((line) => `  | ${line.slice(0, 300)}`);
      parts.push([`${c.Name.replace(/^\//, '')}: ${c.State.Status} (exit ${c.State.ExitCode}), health ${c.State.Health?.Status ?? 'none'}`, ...checks, ...tail].join('\n'));
    }
    return parts.join('\n');
  }

  /** Runs a command in a container; resolves with its stdout as bytes. */
  async exec(container: ContainerInfo, command: string[]): Promise<Buffer> {
    const result = await run('docker', ['exec', container.id, ...command], { timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(`docker exec ${container.name} ${command.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }
}
