/**
 * The base images a stack's compose files name, made available to the engine: present
 * already, or pulled, or, where no registry can be reached, built as stand-ins by
 * scripts/docker/build-stand-in-images.sh (Debian parts laid out like the official images,
 * tagged with the official names).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../../helpers/processes.js';
import { run, runOk } from './commands.js';

export const STAND_IN_LABEL = 'org.chunkyard.stand-in';

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
}

/**
 * Images used as they are: every FROM that is not a stage in the Dockerfiles the services
 * build, and the image of every service that is not built. `composeFiles` are relative to
 * the repository, merged in order as compose does (a service is built if any file builds it).
 */
export async function baseImages(composeFiles = ['docker-compose.yml']): Promise<string[]> {
  const services = new Map<string, ComposeService>();
  for (const file of composeFiles) {
    const compose = parse(await readFile(path.join(repoRoot, file), 'utf8'), { merge: true }) as { services?: Record<string, ComposeService> };
    for (const [name, service] of Object.entries(compose.services ?? {})) services.set(name, { ...services.get(name), ...service });
  }
  const dockerfiles = new Set<string>();
  const images = new Set<string>();
  for (const service of services.values()) {
    if (!service.build) {
      if (service.image) images.add(service.image);
      continue;
    }
    const build = typeof service.build === 'string' ? { context: service.build } : service.build;
    dockerfiles.add(path.join(repoRoot, build.context ?? '.', build.dockerfile ?? 'Dockerfile'));
  }
  for (const file of dockerfiles) {
    const stages = new Set<string>();
    for (const [, image, stage] of (await readFile(file, 'utf8')).matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)) {
      if (!stages.has(image!)) images.add(image!);
      if (stage) stages.add(stage);
    }
  }
  return [...images];
}

const present = async (image: string) => (await run('docker', ['image', 'inspect', image])).code === 0;

export interface BaseImages {
  images: string[];
  /** Those that are stand-ins built here (now or on an earlier run). */
  standIns: string[];
}

export async function ensureBaseImages(composeFiles?: string[]): Promise<BaseImages> {
  const images = await baseImages(composeFiles);
  const missing: string[] = [];
  for (const image of images) {
    if (await present(image)) continue;
    if ((await run('docker', ['pull', '--quiet', image], { timeoutMs: 300_000 })).code === 0) continue;
    missing.push(image);
  }
  if (missing.length > 0) {
    await runOk('bash', [path.join(repoRoot, 'scripts/docker/build-stand-in-images.sh'), ...missing], { timeoutMs: 900_000 });
  }
  const standIns: string[] = [];
  for (const image of images) {
    const label = await runOk('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${STAND_IN_LABEL}"}}`, image]);
    if (!['', '<no value>'].includes(label.trim())) standIns.push(image);
  }
  return { images, standIns };
}
