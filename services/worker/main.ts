/**
 * The worker process: merges completed uploads from the queue until SIGTERM.
 */
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { runUntilSignalled } from '../shared/process-lifecycle.js';
import { createWorkerConnection } from '../shared/redis-connection.js';
import { StorageLayout } from '../shared/storage-layout.js';
import { UploadStore } from '../shared/upload-store.js';
import { createMergeWorker } from './merge-worker.js';

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL, 'worker');
const layout = new StorageLayout(config.dataDir);
await layout.ensure();

const storeConnection = createWorkerConnection(config.REDIS_URL);
const workerConnection = createWorkerConnection(config.REDIS_URL);
for (const connection of [storeConnection, workerConnection]) {
  connection.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
}
const store = new UploadStore({
  redis: storeConnection,
  prefix: config.REDIS_PREFIX,
  idleTtlSeconds: config.UPLOAD_TTL,
  resultTtlSeconds: config.RESULT_TTL,
});
const worker = createMergeWorker({
  connection: workerConnection,
  store,
  layout,
  logger: logger.child({ module: 'merge' }),
  prefix: config.REDIS_PREFIX,
  concurrency: config.MERGE_CONCURRENCY,
  lockDurationMs: config.MERGE_LOCK_MS,
});
worker.on('ready', () => logger.info({ concurrency: config.MERGE_CONCURRENCY, dataDir: config.dataDir }, 'worker ready'));

// An active merge either finishes within the deadline, or the process exits and the
// job's lock lapses, so another worker redoes it from the start (the processor is idempotent).
runUntilSignalled(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
  await worker.close();
  await Promise.all([storeConnection.quit(), workerConnection.quit()]);
});
