/**
 * No Docker engine runs where the tests run, so the compose file, the nginx config and
 * the Dockerfile are checked against the code: every variable the compose file sets is
 * a setting, ports and paths agree, and nginx accepts the largest chunk.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import bytes from 'bytes';
import { parse } from 'yaml';
import { loadConfig, settings } from '../../services/shared/config.js';
import { repoRoot } from '../helpers/processes.js';

interface Service {
  build?: string;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  deploy?: { replicas?: number };
  healthcheck?: { test: string[] };
  container_name?: string;
}

const read = (file: string) => readFile(path.join(repoRoot, file), 'utf8');
const compose = parse(await read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const { redis, ingest, worker, nginx } = compose.services as Record<'redis' | 'ingest' | 'worker' | 'nginx', Service>;
const composeSite = await read('deploy/nginx/compose.conf');
const proxyConf = await read('deploy/nginx/chunkyard-proxy.conf');

/** Resolves `${NAME:-default}` the way compose does with an empty environment. */
function resolved(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));
}

test('every variable the compose file sets is a setting, and the set is valid', () => {
  for (const service of [ingest, worker]) {
    for (const name of Object.keys(service.environment ?? {})) assert.ok(name in settings, `${name} is a setting`);
    assert.doesNotThrow(() => loadConfig(resolved(service.environment ?? {})));
  }
});

test('redis is durable, never evicts, and is health-checked', () => {
  const command = (redis.command ?? []).join(' ');
  assert.match(command, /--appendonly yes/);
  assert.match(command, /--maxmemory-policy noeviction/);
  assert.ok(redis.healthcheck);
  assert.ok(redis.volumes?.some((v) => v.endsWith(':/data')));
  assert.equal(resolved(ingest.environment!).REDIS_URL, 'redis://redis:6379');
});

test('three ingest replicas behind nginx on the port nginx proxies to; the worker scales', () => {
  assert.equal(ingest.deploy?.replicas, 3);
  assert.equal(ingest.ports, undefined, 'ingest is reached through nginx only');
  const upstreamPort = /server ingest:(\d+);/.exec(composeSite)?.[1];
  assert.equal(upstreamPort, resolved(ingest.environment!).PORT);
  const listen = /listen (\d+);/.exec(composeSite)?.[1];
  assert.ok(nginx.ports?.some((mapping) => mapping.endsWith(`:${listen}`)), 'nginx publishes the port it listens on');
  assert.equal(worker.container_name, undefined);
  assert.equal(worker.ports, undefined, 'no fixed host port, so --scale worker=N works');
});

test('ingest and worker share DATA_DIR on one volume', () => {
  const dataDir = resolved(ingest.environment!).DATA_DIR;
  assert.equal(resolved(worker.environment!).DATA_DIR, dataDir);
  const volumeAt = (service: Service) => service.volumes?.find((v) => v.endsWith(`:${dataDir}`))?.split(':')[0];
  assert.ok(volumeAt(ingest));
  assert.equal(volumeAt(worker), volumeAt(ingest));
});

test('nginx mounts the repository config files and takes the largest chunk', () => {
  for (const mount of nginx.volumes ?? []) {
    const source = mount.split(':')[0]!;
    assert.ok(existsSync(path.join(repoRoot, source)), `${source} exists`);
  }
  assert.ok(nginx.volumes?.some((v) => v.includes('chunkyard-proxy.conf:/etc/nginx/chunkyard/proxy.conf')));
  assert.match(composeSite, /include \/etc\/nginx\/chunkyard\/proxy\.conf;/);
  const maxBody = bytes.parse(/client_max_body_size (\w+);/.exec(proxyConf)![1]!.replace(/m$/, 'mb'))!;
  const maxChunk = loadConfig(resolved(ingest.environment!)).MAX_CHUNK_SIZE;
  assert.ok(maxBody >= maxChunk + 64 * 1024, `client_max_body_size ${maxBody} >= MAX_CHUNK_SIZE ${maxChunk} + form overhead`);
  assert.match(proxyConf, /proxy_request_buffering off;/);
  assert.match(proxyConf, /proxy_buffering off;/, 'events are not buffered');
});

test('one image, built in stages, runs both processes as a non-root user', async () => {
  const dockerfile = await read('Dockerfile');
  assert.equal(dockerfile.match(/^FROM /gm)?.length, 2, 'multi-stage');
  assert.match(dockerfile, /npm ci --omit=dev/);
  assert.match(dockerfile, /^USER node$/m);
  assert.equal(ingest.image, worker.image);
  for (const service of [ingest, worker]) {
    const entry = service.command!.at(-1)!;
    const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
    assert.ok(existsSync(path.join(repoRoot, source)), `${entry} is built from ${source}`);
    assert.ok(service.healthcheck, 'health-checked');
  }
});
