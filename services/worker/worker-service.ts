/**
 * Wires a worker process from its configuration: the merge worker, the webhook worker
 * (when a URL is configured), the sweep, and a small HTTP server for /metrics, /healthz and
 * /readyz.
 */
import type http from 'node:http';
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../shared/config.js';
import type { Lifecycle } from '../shared/http/health.js';
import { createOpsServer } from '../shared/http/ops-app.js';
import { MAINTENANCE_QUEUE, createMaintenanceQueue, scheduleSweep } from '../shared/maintenance-job.js';
import { createMergeQueue } from '../shared/merge-queue.js';
import { createRegistry, registerQueueDepth } from '../shared/metrics.js';
import { redisReadiness, storageReadiness } from '../shared/readiness.js';
import { createWorkerConnection, redisTarget } from '../shared/redis-connection.js';
import { createStorageDriver } from '../shared/storage.js';
import { WEBHOOK_QUEUE, createWebhookQueue } from '../shared/webhook-job.js';
import { queuePrefix } from '../state/redis-keys.js';
import { RedisStateStore } from '../state/redis-state-store.js';
import { createMergeWorker } from './merge-worker.js';
import { createSweeper } from './sweeper.js';
import { UploadNotifier } from '../shared/upload-notifier.js';
import { createWebhookDelivery } from './webhook-delivery.js';
import { createWorkerMetrics } from './worker-metrics.js';

export interface WorkerService {
  server: http.Server;
  lifecycle: Lifecycle;
  ready: Promise<void>;
  /** Stops taking jobs; an active merge may finish for `graceMs`, then is handed back to the queue. */
  close(graceMs: number): Promise<void>;
}

export async function createWorkerService(config: Config, logger: Logger): Promise<WorkerService> {
  const storage = await createStorageDriver(config);
  const target = redisTarget(config);
  // BullMQ workers block on their connections, so each gets its own; queues and the store share one.
  const [storeConnection, mergeConnection, webhookConnection, maintenanceConnection] = [0, 1, 2, 3].map(() => {
    const connection = createWorkerConnection(target);
    connection.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
    return connection;
  }) as [ReturnType<typeof createWorkerConnection>, ReturnType<typeof createWorkerConnection>, ReturnType<typeof createWorkerConnection>, ReturnType<typeof createWorkerConnection>];

  const state = new RedisStateStore({
    redis: storeConnection,
    prefix: config.REDIS_PREFIX,
    idleTtlSeconds: config.UPLOAD_TTL,
    resultTtlSeconds: config.RESULT_TTL,
    cancelGraceMs: config.CANCEL_GRACE_MS,
    waitReplicas: config.REDIS_WAIT_REPLICAS,
    onDegraded: (reason) => logger.warn({ reason }, 'redis replicas missing'),
    earlyMergeMinSize: 0,
  });
  const mergeQueue = createMergeQueue(storeConnection, config.REDIS_PREFIX);
  const webhookQueue = config.WEBHOOK_URL ? createWebhookQueue(storeConnection, config.REDIS_PREFIX) : undefined;
  const maintenanceQueue = createMaintenanceQueue(storeConnection, config.REDIS_PREFIX);
  const registry = createRegistry('worker');
  registerQueueDepth(registry, [mergeQueue, ...(webhookQueue ? [webhookQueue] : [])]);
  const shutdown = new AbortController();
  const draining = new AbortController();

  const mergeWorker = createMergeWorker({
    connection: mergeConnection,
    state,
    storage,
    logger: logger.child({ module: 'merge' }),
    notifier: new UploadNotifier(state, webhookQueue, config.WEBHOOK_ATTEMPTS),
    metrics: createWorkerMetrics(registry),
    shutdownSignal: shutdown.signal,
    drainSignal: draining.signal,
    diskFullRetryMs: config.MERGE_DISK_FULL_RETRY_MS,
    diskFullRetries: config.MERGE_DISK_FULL_RETRIES,
    earlyMerge: { perWorker: config.EARLY_MERGES_PER_WORKER, idleMs: config.EARLY_MERGE_IDLE_MS },
    prefix: config.REDIS_PREFIX,
    concurrency: config.MERGE_CONCURRENCY,
    lockDurationMs: config.MERGE_LOCK_MS,
  });
  const webhookWorker = config.WEBHOOK_URL
    ? new Worker(WEBHOOK_QUEUE, createWebhookDelivery(config.WEBHOOK_URL, config.WEBHOOK_SECRET), {
        connection: webhookConnection,
        prefix: queuePrefix(config.REDIS_PREFIX),
        concurrency: 4,
      })
    : undefined;
  // Nothing may still be writing bytes untouched for longer than a request may last.
  const sweep = createSweeper({ state, storage, unownedAfterMs: config.REQUEST_TIMEOUT_MS + config.SWEEP_GRACE_MS, logger: logger.child({ module: 'sweep' }) });
  const maintenanceWorker = new Worker(MAINTENANCE_QUEUE, async () => sweep(), {
    connection: maintenanceConnection,
    prefix: queuePrefix(config.REDIS_PREFIX),
    concurrency: 1,
  });
  maintenanceWorker.on('failed', (_job, err) => logger.warn({ err: err.message }, 'sweep failed'));
  webhookWorker?.on('failed', (job, err) => logger.warn({ uploadId: job?.data.uploadId, err: err.message, attempt: job?.attemptsMade }, 'webhook delivery failed'));

  // The sweep's schedule lives in Redis: declared again whenever the connection comes
  // (back), so a Redis that restarted empty gets it again (upserting is idempotent).
  const declareSchedule = () => scheduleSweep(maintenanceQueue, config.SWEEP_INTERVAL_MS);
  storeConnection.on('ready', () => {
    declareSchedule().catch((err: unknown) => logger.warn({ err }, 'could not declare the sweep schedule'));
  });

  const lifecycle: Lifecycle = { shuttingDown: false };
  const server = createOpsServer({
    checks: { redis: redisReadiness(storeConnection), storage: storageReadiness(storage) },
    lifecycle, registry, adminUser: config.ADMIN_USER, adminPassword: config.ADMIN_PASSWORD, logger, proxy: config.TRUST_PROXY,
  });

  return {
    server,
    lifecycle,
    ready: Promise.all([mergeWorker.waitUntilReady(), declareSchedule()]).then(() => undefined),
    async close(graceMs) {
      lifecycle.shuttingDown = true;
      draining.abort(new Error('shutting down'));
      const handBack = setTimeout(() => shutdown.abort(new Error('shutting down')), graceMs);
      await Promise.all([mergeWorker.close(), webhookWorker?.close(), maintenanceWorker.close()]);
      clearTimeout(handBack);
      await Promise.all([mergeQueue.close(), webhookQueue?.close(), maintenanceQueue.close()]);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await storage.close();
      for (const connection of [storeConnection, mergeConnection, webhookConnection, maintenanceConnection]) connection.disconnect();
    },
  };
}
