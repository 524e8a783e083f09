/**
 * One compose project of the repository's docker-compose.yml, under a name of its own,
 * driven through whichever CLI the machine has: the `docker compose` plugin, or Debian's
 * docker-compose v1 (the file is written for both).
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
}

interface Inspected {
  Id: string;
  Name: string;
  RestartCount: number;
  State: { Running: boolean; StartedAt: string; Health?: { Status: string } };
  Config: { Labels: Record<string, string> };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
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
    private readonly envFile: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * `variables` go in an env file, as an operator's .env would. Nothing else of this
   * process's environment reaches the compose file (a stray LOG_LEVEL or HOST must not),
   * and the repository's own .env, if a developer has one, is not read.
   */
  static async create(name: string, variables: Record<string, string>): Promise<ComposeProject> {
    const cli = await composeCommand();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-compose-'));
    const envFile = path.join(dir, '.env');
    await writeFile(envFile, Object.entries(variables).map(([key, value]) => `${key}=${value}\n`).join(''));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    if (process.env.DOCKER_HOST) env.DOCKER_HOST = process.env.DOCKER_HOST;
    return new ComposeProject(name, cli, envFile, env);
  }

  /** Runs a compose subcommand for this project; resolves with its stdout. */
  compose(args: string[], timeoutMs = 300_000): Promise<string> {
    const [command, ...pre] = this.cli;
    const global = ['--project-name', this.name, '--project-directory', repoRoot, '--file', path.join(repoRoot, 'docker-compose.yml'), '--env-file', this.envFile];
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

  /** Runs a command in a container; resolves with its stdout as bytes. */
  async exec(container: ContainerInfo, command: string[]): Promise<Buffer> {
    const result = await run('docker', ['exec', container.id, ...command], { timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(`docker exec ${container.name} ${command.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }
}
