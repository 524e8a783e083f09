/**
 * `docker compose up` with a real Docker engine and the repository's own compose file:
 * the engine is started here if none runs, the base images are pulled or, where no registry
 * can be reached, built as stand-ins (scripts/docker/build-stand-in-images.sh), and the stack
 * is built and started under a project name of its own on a free port, then taken down with
 * its volumes.
 *
 * One upload goes through nginx while the stack changes under it: over three ingest replicas,
 * then four (`--scale`, nginx not restarted), then two, then across a Redis restart; it is
 * merged exactly once, byte for byte.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { settings } from '../../services/shared/config.js';
import { randomFile, sha256 } from '../helpers/upload-client.js';
import { ChunkSender } from './lib/chunk-sender.js';
import { waitFor } from './lib/commands.js';
import { type ContainerInfo } from './lib/compose-project.js';
import { startComposeStack, type ComposeStack } from './lib/compose-stack.js';
import { connectTimeouts, proxiedRequests } from './lib/nginx-logs.js';
import { scrape, sumOf } from './lib/prometheus-text.js';
import { uploadStatus, waitForMerge } from './lib/upload-status.js';

const ADMIN_USER = 'admin';
const ADMIN_PASSWORD = randomBytes(12).toString('hex');
/** The ingest's and the worker's operations ports inside the compose network. */
const INGEST_OPS_PORT = 3002;
const WORKER_PORT = 3001;

let stack: ComposeStack | undefined;
let url = '';

before(async () => {
  // What an operator would put in .env.
  stack = await startComposeStack({ variables: { ADMIN_PASSWORD, LOG_LEVEL: 'warn' }, healthy: { redis: 1, ingest: 3, worker: 1, nginx: 1 } });
  url = stack.url;
});

after(async () => {
  await stack?.down();
});

const project = () => stack!.project;
const nginx = async () => (await project().containers('nginx'))[0]!;
const ingestMetrics = (replica: ContainerInfo) => scrape(`http://${replica.ip}:${INGEST_OPS_PORT}/metrics`, ADMIN_USER, ADMIN_PASSWORD);

/** Chunks each replica received, from its own metrics on OPS_PORT, by container id. */
async function chunksPerReplica(replicas: ContainerInfo[]): Promise<Map<string, number>> {
  const counts = await Promise.all(replicas.map(async (r) => sumOf(await ingestMetrics(r), 'chunkyard_chunks_received_total')));
  return new Map(replicas.map((r, i) => [r.id, counts[i]!]));
}

test('the stack answers through nginx; each replica has its own metrics, inside the network only', async () => {
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  const assets = [...(await page.text()).matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  assert.ok(assets.length >= 3, `the page references its assets: ${assets.join(', ')}`);
  for (const asset of assets) {
    const response = await fetch(`${url}${asset}`);
    await response.arrayBuffer();
    assert.equal(response.status, 200, asset);
  }

  const metricsThroughNginx = await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString('base64')}` } });
  assert.doesNotMatch(await metricsThroughNginx.text(), /chunkyard_/, 'no metrics through nginx');

  const replicas = await project().containers('ingest');
  for (const replica of replicas) assert.match(await ingestMetrics(replica), /chunkyard_chunks_received_total/, `${replica.name} on ${INGEST_OPS_PORT}`);
  const [worker] = await project().containers('worker');
  assert.match(await scrape(`http://${worker!.ip}:${WORKER_PORT}/metrics`, ADMIN_USER, ADMIN_PASSWORD), /chunkyard_uploads_completed_total/);

  // What Prometheus's dns_sd_configs (type A, name `ingest`) sees from inside the network.
  const resolved = (await project().exec(await nginx(), ['getent', 'ahostsv4', 'ingest'])).toString();
  assert.deepEqual(new Set(resolved.split('\n').filter(Boolean).map((line) => line.split(/\s+/)[0])), new Set(replicas.map((r) => r.ip)));
});

test('settings reach the containers from .env; unset ones are empty, so the defaults apply', async () => {
  // Each process's own ports are the only settings the other one does not get.
  const otherProcessPorts = { ingest: ['WORKER_PORT'], worker: ['PORT', 'OPS_PORT'] };
  for (const [service, skipped] of Object.entries(otherProcessPorts)) {
    const [container] = await project().containers(service);
    const env = (await project().exec(container!, ['env'])).toString().split('\n');
    assert.ok(env.includes(`ADMIN_PASSWORD=${ADMIN_PASSWORD}`), service);
    assert.ok(env.includes('LOG_LEVEL=warn'), service);
    assert.ok(env.includes('MAX_CHUNKS='), `an unset setting arrives empty (${service})`);
    for (const name of Object.keys(settings).filter((n) => !skipped.includes(n))) {
      assert.ok(env.some((line) => line.startsWith(`${name}=`)), `${name} reaches ${service}`);
    }
  }
});

test('the access log keeps query strings, and so tokens, out', async () => {
  const secret = `token-${randomBytes(8).toString('hex')}`;
  const since = new Date(Date.now() - 1_000).toISOString();
  const response = await fetch(`${url}/upload?resumableIdentifier=access-log&resumableChunkNumber=1&token=${secret}`);
  await response.arrayBuffer();
  const logs = await waitFor('the request in the access log', async () => {
    const { stdout, stderr } = await project().logs(await nginx(), since);
    return stdout.includes('GET /upload ') ? stdout + stderr : undefined;
  }, 10_000);
  assert.ok(!logs.includes(secret), 'the token is not logged');
});

test('one upload across three, four and two replicas and a Redis restart is merged exactly once', async (t) => {
  // Small chunks, and plenty: the phases that run while the stack changes send for as long
  // as the change takes, and the upload must only complete in the last phase.
  const chunkSize = 8 * 1024;
  const file = randomFile(1500 * chunkSize + 1234);
  const identifier = `compose-${randomBytes(4).toString('hex')}`;
  const sender = new ChunkSender(file, { urls: [url], identifier, filename: 'compose.bin', chunkSize, concurrency: 4 });
  const nginxAtStart = await nginx();

  // Three replicas: round robin spreads the chunks.
  const three = await project().containers('ingest');
  await sender.send('three replicas', 60);
  const spread = await chunksPerReplica(three);
  t.diagnostic(`three replicas took ${[...spread.values()].join(' + ')} chunks`);
  assert.ok([...spread.values()].filter((n) => n > 0).length > 1, 'more than one replica took chunks');
  assert.deepEqual(sender.failures('three replicas'), []);

  // Four: nginx finds the new replica through Docker's DNS, with no restart.
  await project().compose(['up', '--detach', '--no-recreate', '--scale', 'ingest=4']);
  const four = await project().waitHealthy('ingest', 4);
  const added = four.find((c) => !three.some((old) => old.id === c.id))!;
  let addedChunks = 0;
  for (let sent = 0; addedChunks === 0 && sent < 400; sent += 8) {
    await sender.send('four replicas', 8);
    addedChunks = (await chunksPerReplica([added])).get(added.id)!;
  }
  t.diagnostic(`the added replica took ${addedChunks} chunk(s)`);
  assert.ok(addedChunks > 0, `the added replica ${added.name} receives chunks`);
  assert.deepEqual(sender.failures('four replicas'), []);

  // Two, while chunks are in flight: nginx stops sending to the removed replicas once its
  // resolver's 2 s are up. A request it sends to a removed address before then waits at
  // most proxy_connect_timeout (1 s) and goes to another replica: it neither fails nor hangs
  // for the old 5 s, and no live replica ever times out. A replica shutting down answers a
  // chunk that reached it too late with 503, or its connection closes under nginx as it
  // stops (502); nginx cannot resend a streamed body, so the client retries those,
  // as resumable.js does. Nothing else may fail.
  const scaleDownSince = new Date(Date.now() - 1_000).toISOString();
  let scaling = true;
  const scaledDown = project().compose(['up', '--detach', '--no-recreate', '--scale', 'ingest=2']).finally(() => (scaling = false));
  await Promise.all([scaledDown, sender.sendWhile('scaling down', () => scaling)]);
  const two = await project().containers('ingest');
  assert.equal(two.length, 2);
  const removed = new Set(four.filter((c) => !two.some((kept) => kept.id === c.id)).map((c) => c.ip));
  const uploadsSince = async () => proxiedRequests((await project().logs(await nginx(), scaleDownSince)).stdout).filter((r) => r.uri === '/upload');
  let recent: string[] = [];
  for (let sent = 0; sent < 600; sent += 8) {
    await sender.send('after scaling down', 8);
    recent = (await uploadsSince()).slice(-40).flatMap((r) => r.upstreams);
    if (recent.length >= 40 && !recent.some((ip) => removed.has(ip))) break;
  }
  assert.ok(!recent.some((ip) => removed.has(ip)), `nginx stopped sending to the removed replicas (${[...removed].join(', ')}); last tries: ${recent.join(' ')}`);
  const refused = (await uploadsSince()).filter((r) => r.status !== 200);
  const errorLog = (await project().logs(await nginx(), scaleDownSince)).stderr;
  assert.ok(
    refused.every((r) => [502, 503].includes(r.status) && r.upstreams.every((ip) => removed.has(ip))),
    `only replicas being removed refused chunks: ${refused.map((r) => `${r.status} via ${r.upstreams.join(',')}`).join('; ')}\n${errorLog.split('\n').filter((l) => !/timed out|refused|temporarily disabled/.test(l)).slice(-10).join('\n')}`,
  );
  const timeouts = connectTimeouts(errorLog);
  t.diagnostic(`connect timeouts to removed addresses: ${timeouts.length}; slowest chunk while scaling down: ${Math.max(...sender.attempts.filter((a) => a.phase.includes('scaling down')).map((a) => a.ms))} ms`);
  assert.deepEqual(timeouts.filter((ip) => !removed.has(ip)), [], 'no connect timeout to a live replica');
  const retried = [...sender.failures('scaling down'), ...sender.failures('after scaling down')];
  t.diagnostic(`chunks refused by a replica shutting down, and retried: ${retried.map((a) => a.outcome).join(', ') || 'none'}`);
  assert.deepEqual(retried.filter((a) => a.outcome !== 502 && a.outcome !== 503), [], 'no network error and no 504 reached the client');

  // A Redis restart mid-upload: requests fail fast meanwhile (the client retries, as
  // resumable.js does), and every chunk recorded before it survives (append-only file).
  const [redisBefore] = await project().containers('redis');
  assert.equal((await project().exec(redisBefore!, ['redis-cli', 'config', 'get', 'appendonly'])).toString().split('\n')[1], 'yes');
  let restarting = true;
  const restarted = project().compose(['restart', 'redis']).finally(() => (restarting = false));
  await Promise.all([restarted, sender.sendWhile('redis restarting', () => restarting)]);
  const [redisAfter] = await project().waitHealthy('redis', 1);
  assert.notEqual(redisAfter!.startedAt, redisBefore!.startedAt, 'Redis was restarted');
  await sender.send('after the redis restart', 40);
  const sent = sender.total - sender.remaining;
  assert.equal((await uploadStatus(url, identifier)).received, sent, 'every chunk stored before, during and after the restart is recorded');
  t.diagnostic(`chunk attempts refused while Redis restarted: ${sender.failures('redis restarting').length}`);

  const phases = [...new Set(sender.attempts.map((a) => a.phase))];
  t.diagnostic(`chunks per phase: ${phases.map((phase) => `${phase} ${new Set(sender.attempts.filter((a) => a.phase === phase).map((a) => a.chunk)).size}`).join(', ')}; ${sender.remaining} left`);
  assert.ok(sender.remaining >= 100, 'chunks are left for the last phase');
  await sender.send('the rest', sender.remaining);
  const status = await waitForMerge(url, identifier);
  assert.equal(status.size, file.length);
  assert.equal(status.sha256, sha256(file));
  const [worker] = await project().containers('worker');
  const merged = await project().exec(worker!, ['cat', `/data/${String(status.path)}`]);
  assert.ok(merged.equals(file), 'the merged file in the shared volume holds the uploaded bytes');

  assert.deepEqual(sender.attempts.filter((a) => a.result === 'completed').map((a) => a.phase), ['the rest'], 'one request completed the upload, in the last phase');
  const completed = await waitFor('the worker counting its merge', async () => {
    const count = sumOf(await scrape(`http://${worker!.ip}:${WORKER_PORT}/metrics`, ADMIN_USER, ADMIN_PASSWORD), 'chunkyard_uploads_completed_total');
    return count > 0 ? count : undefined;
  }, 10_000);
  assert.equal(completed, 1, 'merged exactly once');
  // The job itself finishes just after the upload is recorded complete.
  const job = await waitFor('the merge job finishing', async () => {
    const current = (await uploadStatus(url, identifier)).job as { state?: string } | undefined;
    return current?.state === 'active' ? undefined : current;
  }, 10_000, 100);
  assert.equal(job?.state, 'completed', `one job, completed: ${JSON.stringify(job)}`);

  const nginxAtEnd = await nginx();
  assert.deepEqual([nginxAtEnd.id, nginxAtEnd.startedAt, nginxAtEnd.restartCount], [nginxAtStart.id, nginxAtStart.startedAt, 0], 'nginx was never restarted');
});
