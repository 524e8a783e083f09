/**
 * The base images the Dockerfile and docker-compose.yml name, made available to the
 * engine: present already, or pulled, or, where no registry can be reached, built as
 * stand-ins by scripts/docker/build-stand-in-images.sh (Debian parts laid out like the
 * official images, tagged with the official names).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../../helpers/processes.js';
import { run, runOk } from './commands.js';

export const STAND_IN_LABEL = 'org.chunkyard.stand-in';

/** Images used as they are: every FROM of the Dockerfile that is not a stage, and every compose image that is not built. */
export async function baseImages(): Promise<string[]> {
  const dockerfile = await readFile(path.join(repoRoot, 'Dockerfile'), 'utf8');
  const stages = new Set<string>();
  const images = new Set<string>();
  for (const [, image, stage] of dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    if (!stages.has(image!)) images.add(image!);
    if (stage) stages.add(stage);
  }
  const compose = parse(await readFile(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { image?: string; build?: unknown }> };
  for (const service of Object.values(compose.services)) if (service.image && !service.build) images.add(service.image);
  return [...images];
}

const present = async (image: string) => (await run('docker', ['image', 'inspect', image])).code === 0;

export interface BaseImages {
  images: string[];
  /** Those that are stand-ins built here (now or on an earlier run). */
  standIns: string[];
}

export async function ensureBaseImages(): Promise<BaseImages> {
  const images = await baseImages();
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
