/**
 * The compose file, the nginx config and the Dockerfile, checked against the code without
 * an engine (compose-up.test.ts runs them for real): every setting reaches the containers,
 * ports and paths agree, nginx follows the replicas through Docker's DNS and takes the
 * largest chunk, each process's image advertises only its own ports, and the file keeps to
 * syntax both `docker compose` and docker-compose v1 accept.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import bytes from 'bytes';
import { parse } from 'yaml';
import { SERVICE_NODE_FLAGS } from '../../scripts/lib/node-flags.js';
import { loadConfig, settings } from '../../services/shared/config.js';
import { repoRoot } from '../helpers/processes.js';
import { baseImages } from './lib/base-images.js';
import { ComposeProject } from './lib/compose-project.js';

interface Healthcheck {
  test: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}

interface Service {
  build?: { context: string; target?: string; args?: Record<string, string> };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  deploy?: { replicas?: number };
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
  container_name?: string;
}

const read = (file: string) => readFile(path.join(repoRoot, file), 'utf8');
const composeText = await read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as Record<string, unknown> & { services: Record<string, Service> };
const { redis, ingest, worker, nginx } = compose.services as Record<'redis' | 'ingest' | 'worker' | 'nginx', Service>;
const sharedEnv = compose['x-chunkyard-env'] as Record<string, string>;
const composeSite = await read('deploy/nginx/compose.conf');
const proxyConf = await read('deploy/nginx/chunkyard-proxy.conf');
const dockerfile = await read('Dockerfile');
const readme = await read('README.md');

/**
 * Settings compose sets itself rather than take from .env: where Redis and the volume are
 * in this stack, the address every container binds, and each process's own ports.
 */
const FIXED_IN_COMPOSE = ['REDIS_URL', 'DATA_DIR', 'HOST', 'PORT', 'OPS_PORT', 'WORKER_PORT', 'TRUST_PROXY'];

/** Resolves `${NAME:-default}` the way compose does with an empty environment. */
function resolved(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1')]));
}

/** The Dockerfile's stages: name → its lines (FROM to the next FROM). */
function stages(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of dockerfile.split('\n')) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) found.set(from[1] ?? `stage-${found.size}`, (current = []));
    current.push(line);
  }
  return found;
}
const stageOf = (name: string) => stages().get(name) ?? assert.fail(`Dockerfile stage ${name}`);
const cmdOf = (stage: string[]) => JSON.parse(stage.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
const exposedBy = (stage: string[]) => stage.filter((l) => l.startsWith('EXPOSE ')).flatMap((l) => l.slice(7).trim().split(/\s+/));

test('every setting an operator sets reaches ingest and worker from .env, empty when unset', () => {
  for (const [name, value] of Object.entries(sharedEnv)) {
    assert.ok(name in settings, `${name} is a setting`);
    if (!FIXED_IN_COMPOSE.includes(name)) assert.equal(value, `\${${name}:-}`, `${name} comes from .env, empty (the app's default) when unset`);
  }
  const missing = Object.keys(settings).filter((name) => !FIXED_IN_COMPOSE.includes(name) && !(name in sharedEnv));
  assert.deepEqual(missing, [], 'settings not passed from .env (or listed as fixed here)');
  for (const service of [ingest, worker]) {
    for (const [name, value] of Object.entries(sharedEnv)) assert.equal(service.environment?.[name], value, `${name} is in the service's environment`);
    for (const name of Object.keys(service.environment ?? {})) assert.ok(name in settings, `${name} is a setting`);
  }
});

test('what compose fixes is fixed, and the resulting configuration is valid', () => {
  for (const [service, fixed] of [[ingest, ['REDIS_URL', 'DATA_DIR', 'HOST', 'PORT', 'OPS_PORT', 'TRUST_PROXY']], [worker, ['REDIS_URL', 'DATA_DIR', 'HOST', 'WORKER_PORT', 'TRUST_PROXY']]] as const) {
    for (const name of fixed) assert.doesNotMatch(String(service.environment?.[name]), /\$/, `${name} is not taken from .env`);
    assert.doesNotThrow(() => loadConfig(resolved(service.environment ?? {})));
  }
  assert.equal(ingest.environment?.HOST, '0.0.0.0', 'replicas listen on the compose network (a shell HOST must not leak in)');
  assert.equal(ingest.environment?.WORKER_PORT, undefined);
  assert.equal(worker.environment?.PORT, undefined);
});

test('redis is durable, never evicts, and is health-checked', () => {
  const command = (redis.command ?? []).join(' ');
  assert.match(command, /--appendonly yes/);
  assert.match(command, /--maxmemory-policy noeviction/);
  assert.ok(redis.volumes?.some((v) => v.endsWith(':/data')));
  assert.equal(resolved(ingest.environment!).REDIS_URL, 'redis://redis:6379');
});

test('redis, ingest and worker are health-checked with a start period; ingest and worker on their own ports', () => {
  for (const [name, service] of Object.entries({ redis, ingest, worker })) {
    assert.ok(service.healthcheck?.test.length, `${name} has a healthcheck`);
    assert.ok(service.healthcheck?.start_period, `${name} has a start_period`);
  }
  const env = { ingest: resolved(ingest.environment!), worker: resolved(worker.environment!) };
  assert.match(ingest.healthcheck!.test.join(' '), new RegExp(`127\\.0\\.0\\.1:${env.ingest.OPS_PORT}/readyz`));
  assert.match(worker.healthcheck!.test.join(' '), new RegExp(`127\\.0\\.0\\.1:${env.worker.WORKER_PORT}/readyz`));
  for (const service of [ingest, worker]) {
    assert.equal(service.depends_on?.redis?.condition, 'service_healthy');
  }
  assert.equal(nginx.depends_on?.ingest?.condition, 'service_healthy');
});

test('nginx finds every ingest replica through Docker\'s DNS at request time', () => {
  assert.equal(ingest.deploy?.replicas, 3);
  assert.equal(ingest.ports, undefined, 'ingest is reached through nginx only');
  assert.equal(worker.container_name, undefined);
  assert.equal(worker.ports, undefined, 'no fixed host port, so --scale worker=N works');
  assert.match(composeSite, /^\s*resolver 127\.0\.0\.11 valid=2s ipv6=off;/m, 'Docker\'s DNS, asked again every 2 s');
  assert.doesNotMatch(composeSite, /^\s*upstream\s/m, 'no upstream block: it would be resolved once, at start');
  const target = /set \$chunkyard_upstream ingest:(\d+);/.exec(composeSite)?.[1];
  assert.equal(target, resolved(ingest.environment!).PORT, 'nginx proxies to the port the replicas listen on');
  const proxyPasses = [...proxyConf.matchAll(/proxy_pass\s+([^;]+);/g)].map((m) => m[1]);
  assert.ok(proxyPasses.length >= 2);
  for (const target of proxyPasses) assert.equal(target, 'http://$chunkyard_upstream', 'every location goes through the variable');
  const listen = /listen (\d+);/.exec(composeSite)?.[1];
  assert.ok(nginx.ports?.some((mapping) => mapping.endsWith(`:${listen}`)), 'nginx publishes the port it listens on');
  assert.match(proxyConf, /proxy_next_upstream error timeout http_503;/, 'a chunk goes elsewhere only if it never reached an instance');
});

test('metrics stay inside the compose network: never published, never proxied', () => {
  const env = resolved(ingest.environment!);
  assert.notEqual(env.OPS_PORT, env.PORT);
  for (const service of [ingest, worker]) assert.equal(service.ports, undefined);
  assert.doesNotMatch(proxyConf + composeSite, /metrics|OPS_PORT|:3002|:3001/);
  assert.match(readme, /dns_sd_configs/, 'the README says how Prometheus finds the replicas');
});

test('the access log leaves query strings (and upload tokens in them) out', () => {
  const format = /log_format\s+(\w+)\s+((?:'[^']*'\s*)+);/.exec(composeSite);
  assert.ok(format, 'compose.conf defines a log format');
  assert.doesNotMatch(format[2]!, /\$request\b|\$request_uri|\$args|\$query_string|\$arg_/);
  assert.match(format[2]!, /\$uri\b/);
  assert.match(composeSite, new RegExp(`^\\s*access_log\\s+\\S+\\s+${format[1]};`, 'm'), 'the server logs with it');
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
  assert.ok(nginx.volumes?.some((v) => v.includes('compose.conf:/etc/nginx/conf.d/default.conf')));
  assert.match(composeSite, /include \/etc\/nginx\/chunkyard\/proxy\.conf;/);
  const maxBody = bytes.parse(/client_max_body_size (\w+);/.exec(proxyConf)![1]!.replace(/m$/, 'mb'))!;
  const maxChunk = loadConfig(resolved(ingest.environment!)).MAX_CHUNK_SIZE;
  assert.ok(maxBody >= maxChunk + 64 * 1024, `client_max_body_size ${maxBody} >= MAX_CHUNK_SIZE ${maxChunk} + form overhead`);
  assert.match(proxyConf, /proxy_request_buffering off;/);
  assert.match(proxyConf, /proxy_buffering off;/, 'events are not buffered');
});

test('one build, an image per process: production dependencies, user node, only its own ports', () => {
  assert.match(stageOf('runtime').join('\n'), /npm ci --omit=dev/);
  assert.ok(stageOf('runtime').includes('USER node'));
  assert.deepEqual(exposedBy(stageOf('runtime')), [], 'the shared stage advertises no port (both images would inherit it)');
  assert.equal([...stages().keys()].at(-1), 'ingest', 'a plain `docker build .` makes the ingest image');
  const env = { ingest: resolved(ingest.environment!), worker: resolved(worker.environment!) };
  const expected = { ingest: [env.ingest.PORT, env.ingest.OPS_PORT], worker: [env.worker.WORKER_PORT] };
  for (const [name, service] of Object.entries({ ingest, worker }) as ['ingest' | 'worker', Service][]) {
    const stage = stageOf(name);
    assert.match(stage[0]!, /^FROM runtime AS /, `${name} builds on the shared runtime stage`);
    assert.equal(service.build?.target, name);
    assert.equal(service.command, undefined, `${name} runs its image's CMD`);
    assert.deepEqual(exposedBy(stage).sort(), expected[name].sort(), `${name} advertises only its own ports`);
    assert.deepEqual(cmdOf(stage), ['node', ...SERVICE_NODE_FLAGS[name], `dist/services/${name}/main.js`]);
    assert.ok(existsSync(path.join(repoRoot, `services/${name}/main.ts`)));
  }
  assert.notEqual(ingest.image, worker.image);
});

test('base images are official Debian bookworm variants, named alike in the README', () => {
  const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!).filter((image) => !stages().has(image));
  for (const service of [redis, nginx]) bases.push(service.image!);
  assert.deepEqual([...new Set(bases)].sort(), ['nginx:1.27-bookworm', 'node:24-bookworm-slim', 'redis:7-bookworm']);
  for (const image of bases) assert.ok(readme.includes(image), `README names ${image}`);
});

test('every base image of every compose file has a stand-in for machines that cannot pull it', async () => {
  const bases = await baseImages(COMPOSE_FILES);
  assert.deepEqual(bases.filter((image) => !image.endsWith('bookworm') && !image.endsWith('bookworm-slim')), [], 'Debian bookworm variants');
  const script = await read('scripts/docker/build-stand-in-images.sh');
  for (const image of bases) {
    assert.match(script, new RegExp(`^\\s+${image.split(':')[0]}:\\*\\) build_`, 'm'), `build-stand-in-images.sh builds ${image}`);
    assert.ok(readme.includes(image), `README names ${image}`);
  }
});

test('the build trusts an extra CA only when asked, and the compose file passes it through', () => {
  for (const stage of ['build', 'runtime']) assert.ok(stageOf(stage).includes('ARG NODE_EXTRA_CA_CERTS'), stage);
  assert.doesNotMatch(dockerfile, /^ENV .*NODE_EXTRA_CA_CERTS/m, 'never baked into an image');
  for (const service of [ingest, worker]) assert.equal(service.build?.args?.NODE_EXTRA_CA_CERTS, '${BUILD_CA_CERTS:-}');
});

const overrideOf = async (file: string) => (parse(await read(file), { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> });
/** What the S3 overrides may set besides settings: the AWS credential chain's variables. */
const AWS_CREDENTIALS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** Ingest and worker on S3 in `override`: no shared volume, and only settings or credentials in their environment. */
function assertOnS3WithoutSharedDisk(file: string, override: { services: Record<string, Service> }) {
  const dataDir = resolved(ingest.environment!).DATA_DIR;
  for (const name of ['ingest', 'worker']) {
    const service = override.services[name]!;
    assert.equal(service.environment?.STORAGE, 's3', `${file}: ${name} stores on S3`);
    for (const key of Object.keys(service.environment ?? {})) assert.ok(key in settings || AWS_CREDENTIALS.includes(key), `${file}: ${name}: ${key} is a setting or an AWS credential`);
    // Compose merges volume entries by container path: this one replaces uploads:/data.
    assert.deepEqual(service.volumes, [dataDir], `${file}: ${name}'s ${dataDir} is an anonymous volume, one per container`);
  }
  assert.deepEqual(Object.keys(override.services).filter((name) => !['ingest', 'worker', 's3'].includes(name)), [], `${file} changes nothing else`);
}

test('docker-compose.s3.yml: ingest and worker on the bundled store, each with a volume of its own', async () => {
  const file = 'docker-compose.s3.yml';
  const override = await overrideOf(file);
  assertOnS3WithoutSharedDisk(file, override);
  const store = override.services.s3!;
  const entrypoint = await read('deploy/ceph-rgw/entrypoint.sh');
  const rgwPort = /^RGW_PORT=(\d+)$/m.exec(entrypoint)?.[1];
  assert.ok(store.ports?.every((mapping) => mapping.startsWith('127.0.0.1:') && mapping.endsWith(`:${rgwPort}`)), 'the store is published on the host\'s loopback only');
  assert.ok(store.volumes?.some((v) => v === 's3-data:/var/lib/ceph'), 'objects are kept on a named volume');
  assert.ok(override.volumes && 's3-data' in override.volumes);
  assert.ok(store.healthcheck?.test.length && store.healthcheck.start_period, 'the store is health-checked, with a start period');
  assert.ok(existsSync(path.join(repoRoot, store.build!.context, 'Dockerfile')));
  for (const name of ['ingest', 'worker']) {
    const service = override.services[name]!;
    const env = resolved({ ...service.environment });
    assert.equal(env.S3_ENDPOINT, `http://s3:${rgwPort}`, `${name} reaches the store on the compose network`);
    for (const key of ['S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) assert.equal(env[key], store.environment?.[key], `${name}: the store's ${key}`);
    assert.equal(service.depends_on?.s3?.condition, 'service_healthy', `${name} starts once the bucket is there`);
    assert.doesNotThrow(() => loadConfig(resolved({ ...(name === 'ingest' ? ingest : worker).environment, ...service.environment })), `${name}'s merged settings are valid`);
  }
});

test('docker-compose.s3-external.yml: a bucket of your own from .env, no bundled store, no shared disk', async () => {
  const file = 'docker-compose.s3-external.yml';
  const override = await overrideOf(file);
  assertOnS3WithoutSharedDisk(file, override);
  assert.equal(override.services.s3, undefined);
  for (const name of ['ingest', 'worker']) {
    const env = override.services[name]!.environment!;
    for (const key of AWS_CREDENTIALS) assert.equal(env[key], `\${${key}:-}`, `${name}: ${key} from .env, empty (the rest of the AWS chain) when unset`);
    assert.deepEqual(Object.keys(env).filter((key) => key.startsWith('S3_')), [], `${name}: S3_* come from .env through docker-compose.yml`);
  }
});

test('`config` merges each override over docker-compose.yml: settings from .env arrive, /data is no longer shared', async () => {
  const variables = { S3_BUCKET: 'my-bucket', S3_ENDPOINT: 'https://s3.example.com', S3_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret-example' };
  const dataDir = resolved(ingest.environment!).DATA_DIR;
  for (const [override, expected] of [
    ['docker-compose.s3.yml', { S3_BUCKET: 'chunkyard', S3_ENDPOINT: 'http://s3:7480', AWS_ACCESS_KEY_ID: 'chunkyard-demo' }],
    ['docker-compose.s3-external.yml', { S3_BUCKET: 'my-bucket', S3_ENDPOINT: 'https://s3.example.com', S3_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' }],
  ] as const) {
    const project = await ComposeProject.create('chunkyard-config-check', variables, ['docker-compose.yml', override]);
    try {
      const merged = parse(await project.compose(['config'])) as { services: Record<string, { environment: Record<string, string>; volumes: (string | { type: string; source?: string; target: string })[] }> };
      for (const name of ['ingest', 'worker']) {
        const service = merged.services[name]!;
        assert.equal(service.environment.STORAGE, 's3', `${override}: ${name}`);
        for (const [key, value] of Object.entries(expected)) assert.equal(service.environment[key], value, `${override}: ${name}: ${key}`);
        // docker-compose v1 writes `- /data`; the plugin a long form without a source.
        const mounts = service.volumes.map((v) => (typeof v === 'string' ? { source: v.includes(':') ? v.split(':')[0] : undefined, target: v.split(':').at(-1) } : v));
        assert.deepEqual(mounts.filter((m) => m.target === dataDir).map((m) => m.source), [undefined], `${override}: ${name}'s ${dataDir} is anonymous, not uploads`);
      }
    } finally {
      await project.dispose();
    }
  }
});

/** Keys docker-compose v1 (1.27+, Compose Specification) and the `docker compose` plugin both understand. */
const PORTABLE = {
  top: ['services', 'volumes', 'networks', 'configs', 'secrets'],
  service: ['build', 'image', 'command', 'entrypoint', 'environment', 'env_file', 'volumes', 'ports', 'expose', 'deploy', 'healthcheck',
    'depends_on', 'stop_grace_period', 'stop_signal', 'restart', 'labels', 'networks', 'init', 'user', 'working_dir', 'logging', 'ulimits', 'tmpfs'],
  build: ['context', 'dockerfile', 'args', 'target', 'labels'],
  healthcheck: ['test', 'interval', 'timeout', 'retries', 'start_period', 'disable'],
  dependsOn: ['condition'],
  conditions: ['service_started', 'service_healthy', 'service_completed_successfully'],
  deploy: ['replicas', 'resources'],
};

/** Every compose file of the repository: docker-compose.yml and the overrides merged over it. */
const COMPOSE_FILES = ['docker-compose.yml', 'docker-compose.s3.yml', 'docker-compose.s3-external.yml'];

test('the compose files use only syntax both docker compose and docker-compose v1 accept', async () => {
  const keys = (value: unknown) => Object.keys(value ?? {});
  const unknown = (found: string[], allowed: string[]) => found.filter((key) => !allowed.includes(key));
  for (const file of COMPOSE_FILES) {
    const text = await read(file);
    const parsed = parse(text, { merge: true }) as Record<string, unknown> & { services: Record<string, Service> };
    assert.deepEqual(unknown(keys(parsed).filter((k) => !k.startsWith('x-')), PORTABLE.top), [], `${file}: top level (no \`name:\`, \`include:\`, \`version:\`)`);
    for (const [name, service] of Object.entries(parsed.services)) {
      assert.deepEqual(unknown(keys(service), PORTABLE.service), [], `${file}: ${name}`);
      assert.deepEqual(unknown(keys(service.build), PORTABLE.build), [], `${file}: ${name}.build`);
      assert.deepEqual(unknown(keys(service.healthcheck), PORTABLE.healthcheck), [], `${file}: ${name}.healthcheck (no start_interval)`);
      assert.deepEqual(unknown(keys(service.deploy), PORTABLE.deploy), [], `${file}: ${name}.deploy`);
      for (const [dependency, how] of Object.entries(service.depends_on ?? {})) {
        assert.deepEqual(unknown(keys(how), PORTABLE.dependsOn), [], `${file}: ${name}.depends_on.${dependency} (no restart:, required:)`);
        assert.ok(PORTABLE.conditions.includes(how.condition), `${file}: ${name}.depends_on.${dependency}: ${how.condition}`);
      }
    }
    assert.doesNotMatch(text, /(^|[\s:-])!\w+/m, `${file}: no YAML tags such as !reset or !override`);
    for (const [expression] of text.matchAll(/\$\{[^}]*\}?/g)) {
      assert.match(expression, /^\$\{[A-Z_][A-Z0-9_]*(:?-[^${}]*)?\}$/, `${file}: ${expression}: v1 knows only \${NAME}, \${NAME:-default} and \${NAME-default}, not nested`);
    }
  }
});
