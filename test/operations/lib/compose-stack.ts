/**
 * A compose stack of the repository, up for a test: the Docker engine (started here if none
 * answers), the base images (pulled, or built as stand-ins), then `config`, `build` and
 * `up` under a project name of its own with nginx on a free port, until every service named
 * is healthy. `down()` takes it down with its volumes and stops an engine started here; a
 * start that fails does the same before it throws. Each step's time goes to the log.
 */
import { randomBytes } from 'node:crypto';
import { freePort } from '../../helpers/redis-server.js';
import { ensureBaseImages } from './base-images.js';
import { ComposeProject } from './compose-project.js';
import { ensureDockerEngine, type DockerEngine } from './docker-engine.js';

/** Where the node stand-in keeps the CA bundle the host's npm trusts (the script puts it there). */
const STAND_IN_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export interface ComposeStackOptions {
  /** Compose files, relative to the repository, in the order compose merges them. */
  files?: string[];
  /**
   * What an operator would put in .env. CHUNKYARD_HTTP_PORT (a free port) is added, and
   * BUILD_CA_CERTS where the node base image is a stand-in.
   */
  variables?: Record<string, string>;
  /** How many healthy containers of each service `up` must give. */
  healthy: Record<string, number>;
}

export interface ComposeStack {
  project: ComposeProject;
  /** nginx, on the host. */
  url: string;
  down(): Promise<void>;
}

export async function startComposeStack(options: ComposeStackOptions): Promise<ComposeStack> {
  const started = Date.now();
  const engine: DockerEngine = await ensureDockerEngine();
  let project: ComposeProject | undefined;
  const down = async () => {
    try {
      if (project) await project.compose(['down', '--volumes', '--remove-orphans', '--timeout', '15'], 180_000);
    } finally {
      await project?.dispose();
      await engine.stop();
    }
  };
  try {
    const bases = await ensureBaseImages(options.files);
    console.log(`engine ${engine.version} (${engine.startedHere ? 'started here' : 'already running'}); stand-ins: ${bases.standIns.join(', ') || 'none'}; ${Date.now() - started} ms`);

    const port = await freePort();
    const variables: Record<string, string> = { ...options.variables, CHUNKYARD_HTTP_PORT: String(port) };
    if (bases.standIns.some((image) => image.startsWith('node:'))) variables.BUILD_CA_CERTS = STAND_IN_CA_BUNDLE;
    project = await ComposeProject.create(`chunkyard-test-${randomBytes(4).toString('hex')}`, variables, options.files);
    console.log(`${project.cli.join(' ')} ${project.files.map((file) => `-f ${file}`).join(' ')}, project ${project.name}`);

    await project.compose(['config', '--quiet']);
    const building = Date.now();
    await project.compose(['build'], 900_000);
    console.log(`compose build: ${Date.now() - building} ms`);
    const starting = Date.now();
    await project.compose(['up', '--detach'], 300_000);
    const stack = project;
    await Promise.all(Object.entries(options.healthy).map(([service, count]) => stack.waitHealthy(service, count)));
    console.log(`compose up until healthy: ${Date.now() - starting} ms`);
    return { project, url: `http://127.0.0.1:${port}`, down };
  } catch (err) {
    if (project) console.log(`the stack did not come up:\n${await project.describe().catch((e: Error) => e.message)}`);
    await down();
    throw err;
  }
}
