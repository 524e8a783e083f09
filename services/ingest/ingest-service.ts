/**
 * Wires an ingest instance from its configuration: Redis connections, the state store,
 * the storage driver, the upload core, the merge queue, the live event hub, metrics, and
 * the Koa app with its two servers (uploads, and this instance's own operations port).
 * main.ts runs it; tests run several in one process around one Redis.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { QueueEvents } from 'bullmq';
import type { Logger } from 'pino';
import { UploadIdCache } from '../core/upload-cache.js';
import { UploadCore } from '../core/upload-core.js';
import { TypeAllowlist } from '../core/type-allowlist.js';
import type { Config } from '../shared/config.js';
import type { Lifecycle } from '../shared/http/health.js';
import { createOpsServer } from '../shared/http/ops-app.js';
import { createMaintenanceQueue } from '../shared/maintenance-job.js';
import { BullMergeScheduler, MERGE_QUEUE, MergeJobs, createMergeQueue } from '../shared/merge-queue.js';
import { createRegistry, registerQueueDepth } from '../shared/metrics.js';
import { redisReadiness, storageReadiness } from '../shared/readiness.js';
import { createRequestConnection, createWorkerConnection, redisTarget } from '../shared/redis-connection.js';
import { createStorageDriver } from '../shared/storage.js';
import { UploadNotifier } from '../shared/upload-notifier.js';
import { createWebhookQueue } from '../shared/webhook-job.js';
import { queuePrefix } from '../state/redis-keys.js';
import { RedisStateStore } from '../state/redis-state-store.js';
import { buildIngestApp } from './app.js';
import { UploadEventHub } from './events/upload-event-hub.js';

export interface IngestService {
  /** The upload port (behind the load balancer). */
  server: http.Server;
  /** This instance's own /metrics, /healthz and /readyz (OPS_PORT). */
  opsServer: http.Server;
  lifecycle: Lifecycle;
  /** Stops taking requests, lets in-flight ones finish for up to `graceMs`, then closes everything. */
  close(graceMs: number): Promise<void>;
}

export async function createIngestService(config: Config, logger: Logger): Promise<IngestService> {
  const storage = await createStorageDriver(config);
  const target = redisTarget(config);
  const redis = createRequestConnection(target);
  // Pub/sub and QueueEvents block on their connections, which must wait for Redis rather than fail.
  const subscriber = createWorkerConnection(target);
  const queueEventsConnection = createWorkerConnection(target);
  for (const connection of [redis, subscriber, queueEventsConnection]) {
    connection.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  }
  const probes: ReturnType<typeof createRequestConnection>[] = [];
  const replicationProbe = () => {
    const probe = createRequestConnection(target);
    probe.on('error', () => undefined); // the request connection reports Redis being away
    probes.push(probe);
    return probe;
  };
  const state = new RedisStateStore({
    redis,
    prefix: config.REDIS_PREFIX,
    idleTtlSeconds: config.UPLOAD_TTL,
    resultTtlSeconds: config.RESULT_TTL,
    cancelGraceMs: config.CANCEL_GRACE_MS,
    waitReplicas: config.REDIS_WAIT_REPLICAS,
    onDegraded: (reason) => logger.warn({ reason }, 'redis replicas missing'),
    ...(config.REDIS_WAIT_REPLICAS > 0 ? { replicationProbe: replicationProbe() } : {}),
    earlyMergeMinSize: config.EARLY_MERGES_PER_WORKER > 0 ? config.EARLY_MERGE_MIN_SIZE : 0,
  });
  const mergeQueue = createMergeQueue(redis, config.REDIS_PREFIX);
  const webhookQueue = createWebhookQueue(redis, config.REDIS_PREFIX);
  const maintenanceQueue = createMaintenanceQueue(redis, config.REDIS_PREFIX);
  const notifier = new UploadNotifier(state, config.WEBHOOK_URL ? webhookQueue : undefined, config.WEBHOOK_ATTEMPTS);
  const core = new UploadCore({
    state,
    storage,
    merges: new BullMergeScheduler(mergeQueue, config.MERGE_ATTEMPTS),
    limits: { maxFileSize: config.MAX_FILE_SIZE, maxRangeLength: config.MAX_CHUNK_SIZE, maxPieces: config.MAX_CHUNKS },
    quota: { maxUploads: config.QUOTA_UPLOADS, maxBytes: config.QUOTA_BYTES },
    allowedTypes: new TypeAllowlist(config.ALLOWED_TYPES),
    durable: config.CHUNK_FSYNC,
    idleTtlMs: config.UPLOAD_TTL * 1000,
    lockLeaseMs: config.LOCK_LEASE_MS,
    appendCheckpointBytes: config.APPEND_CHECKPOINT,
    ids: new UploadIdCache(),
    newId: () => randomBytes(16).toString('hex'),
    onUploadFinished: (keyHash) => notifier.uploadFinished(keyHash),
  });
  const queueEvents = new QueueEvents(MERGE_QUEUE, { connection: queueEventsConnection, prefix: queuePrefix(config.REDIS_PREFIX) });
  const hub = new UploadEventHub(subscriber, queueEvents, state.eventsChannel, logger.child({ module: 'events' }));
  hub.start().catch((err: unknown) => logger.error({ err }, 'upload events unavailable'));

  const registry = createRegistry('ingest');
  registerQueueDepth(registry, [mergeQueue]);
  const lifecycle: Lifecycle = { shuttingDown: false };
  const readiness = { redis: redisReadiness(redis), storage: storageReadiness(storage) };
  const { app, streams } = buildIngestApp({
    config, core, jobs: new MergeJobs(mergeQueue), dashboardQueues: [mergeQueue, webhookQueue, maintenanceQueue], hub, registry, lifecycle, readiness, logger,
  });

  // Slow or stalled clients (slowloris) must not pin connections: headers, the whole
  // request, and any silence mid-request each have a limit, and connections are capped.
  // Node checks the first two every connectionsCheckingInterval, so that follows the smaller limit.
  const server = http.createServer(
    {
      headersTimeout: config.HEADERS_TIMEOUT_MS,
      requestTimeout: config.REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(config.HEADERS_TIMEOUT_MS, 30_000) / 2,
      keepAliveTimeout: 65_000,
    },
    app.callback(),
  );
  server.timeout = config.IDLE_TIMEOUT_MS;
  server.maxConnections = config.MAX_CONNECTIONS;
  const opsServer = createOpsServer({
    checks: readiness, lifecycle, registry, adminUser: config.ADMIN_USER, adminPassword: config.ADMIN_PASSWORD, logger, proxy: config.TRUST_PROXY,
  });

  return {
    server,
    opsServer,
    lifecycle,
    async close(graceMs) {
      lifecycle.shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      streams.closeAll();
      await hub.close();
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(deadline);
      opsServer.closeAllConnections();
      await new Promise((resolve) => opsServer.close(resolve));
      await Promise.all([mergeQueue.close(), webhookQueue.close(), maintenanceQueue.close()]);
      await storage.close();
      redis.disconnect();
      queueEventsConnection.disconnect();
      for (const probe of probes) probe.disconnect();
    },
  };
}
