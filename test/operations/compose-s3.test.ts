/**
 * `docker compose -f docker-compose.yml -f docker-compose.s3.yml up` with a real Docker
 * engine: the same stack on S3, with its bundled store (a one-node Ceph RADOS Gateway built
 * from deploy/ceph-rgw) and no shared data volume, under a project name of its own on free
 * ports, taken down with its volumes (lib/compose-stack.ts).
 *
 * One file goes up in chunks through nginx over the three ingest replicas; the merged object
 * is read back from the bucket through the S3 API on the host, byte for byte; no ingest or
 * worker container keeps anything of it under /data, and none shares a volume with another.
 * The store keeps its objects across a restart.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/processes.js';
import { freePort } from '../helpers/redis-server.js';
import { createS3Client } from '../helpers/s3-client.js';
import { randomFile, sha256 } from '../helpers/upload-client.js';
import { ChunkSender } from './lib/chunk-sender.js';
import { startComposeStack, type ComposeStack } from './lib/compose-stack.js';
import { proxiedRequests } from './lib/nginx-logs.js';
import { waitForMerge } from './lib/upload-status.js';

const OVERRIDE = 'docker-compose.s3.yml';
const DATA_DIR = '/data';
/** The bucket and the S3 key the override gives its store (and ingest and worker). */
const store = (parse(await readFile(path.join(repoRoot, OVERRIDE), 'utf8'), { merge: true }) as { services: { s3: { environment: Record<string, string> } } })
  .services.s3.environment;

let stack: ComposeStack | undefined;
let s3: S3Client | undefined;

before(async () => {
  const s3Port = await freePort();
  stack = await startComposeStack({
    files: ['docker-compose.yml', OVERRIDE],
    variables: { CHUNKYARD_S3_PORT: String(s3Port), LOG_LEVEL: 'warn' },
    healthy: { s3: 1, redis: 1, ingest: 3, worker: 1, nginx: 1 },
  });
  s3 = createS3Client({ endpoint: `http://127.0.0.1:${s3Port}`, region: 'us-east-1', accessKeyId: store.AWS_ACCESS_KEY_ID!, secretAccessKey: store.AWS_SECRET_ACCESS_KEY! });
});

after(async () => {
  s3?.destroy();
  await stack?.down();
});

const project = () => stack!.project;

async function objectBytes(key: string): Promise<Buffer> {
  const object = await s3!.send(new GetObjectCommand({ Bucket: store.S3_BUCKET, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

/** Sends `file` in chunks through nginx and waits for its merge; resolves with its record. */
async function upload(t: TestContext, file: Buffer, identifier: string, chunkSize: number): Promise<Record<string, unknown>> {
  const started = Date.now();
  const sender = new ChunkSender(file, { urls: [stack!.url], identifier, filename: `${identifier}.bin`, chunkSize, concurrency: 4 });
  await sender.send('all', sender.total);
  assert.deepEqual(sender.failures('all'), [], 'every chunk stored at its first try');
  const sent = Date.now();
  const status = await waitForMerge(stack!.url, identifier);
  t.diagnostic(`${identifier}: ${sender.total} chunks sent in ${sent - started} ms (slowest ${Math.max(...sender.attempts.map((a) => a.ms))} ms), merged ${Date.now() - sent} ms later`);
  return status;
}

let published: { key: string; file: Buffer } = { key: '', file: Buffer.alloc(0) };

test('a file uploaded in chunks over three replicas is one object in the bucket, byte for byte', async (t) => {
  const file = randomFile(12 * 1024 * 1024 + 4321);
  const since = new Date(Date.now() - 1_000).toISOString();
  const status = await upload(t, file, 'compose-s3', 1024 * 1024);

  const [nginx] = await project().containers('nginx');
  const replicas = new Set(proxiedRequests((await project().logs(nginx!, since)).stdout).filter((r) => r.uri === '/upload').flatMap((r) => r.upstreams));
  t.diagnostic(`chunks went to ${replicas.size} replicas`);
  assert.ok(replicas.size > 1, 'nginx spread the chunks over the replicas');

  assert.equal(status.size, file.length);
  assert.equal(status.sha256, sha256(file));
  assert.equal(status.bucket, store.S3_BUCKET);
  assert.equal(status.path, null, 'no path on a disk');
  assert.equal(typeof status.key, 'string');
  published = { key: status.key as string, file };
  assert.ok((await objectBytes(published.key)).equals(file), `s3://${store.S3_BUCKET}/${published.key} holds the uploaded bytes`);
});

test('ingest and worker keep no upload under /data, each on a volume of its own', async (t) => {
  const containers = [...(await project().containers('ingest')), ...(await project().containers('worker'))];
  assert.equal(containers.length, 4);
  const volumes: string[] = [];
  for (const container of containers) {
    const mounts = container.mounts.filter((m) => m.destination === DATA_DIR);
    assert.equal(mounts.length, 1, `${container.name}: one mount at ${DATA_DIR}`);
    assert.equal(mounts[0]!.type, 'volume', `${container.name}: ${DATA_DIR} is a volume`);
    volumes.push(mounts[0]!.name!);
    // Everything in DATA_DIR but tmp/ (request bodies in flight), and what tmp/ holds now.
    const kept = (await project().exec(container, ['find', DATA_DIR, '-mindepth', '1', '!', '-path', `${DATA_DIR}/tmp`, '!', '-path', `${DATA_DIR}/tmp/*`])).toString();
    assert.equal(kept, '', `${container.name} keeps nothing under ${DATA_DIR} but tmp/`);
    const inFlight = (await project().exec(container, ['find', `${DATA_DIR}/tmp`, '-type', 'f'])).toString();
    assert.equal(inFlight, '', `${container.name}: no request body left in ${DATA_DIR}/tmp`);
  }
  assert.equal(new Set(volumes).size, volumes.length, `no two containers share a volume: ${volumes.join(', ')}`);
  const mountedAnywhere = new Set(containers.flatMap((c) => c.mounts.map((m) => m.name).filter(Boolean)));
  assert.ok(![...mountedAnywhere].some((name) => name!.endsWith('_uploads')), 'the shared uploads volume is mounted nowhere');
  t.diagnostic(`volumes at ${DATA_DIR}: ${volumes.map((v) => v.slice(0, 12)).join(', ')}`);
});

test('the store keeps its objects across a restart, and uploads go on after it', async (t) => {
  const [before] = await project().containers('s3');
  await project().compose(['restart', 's3'], 120_000);
  const [restarted] = await project().waitHealthy('s3', 1);
  assert.notEqual(restarted!.startedAt, before!.startedAt, 'the store was restarted');
  assert.ok((await objectBytes(published.key)).equals(published.file), 'the object is still there, byte for byte');

  await project().waitHealthy('ingest', 3);
  const file = randomFile(3 * 1024 * 1024 + 17);
  const status = await upload(t, file, 'compose-s3-after-restart', 1024 * 1024);
  assert.ok((await objectBytes(status.key as string)).equals(file));
});
