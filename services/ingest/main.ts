/**
 * The ingest process: reads config, connects, listens, and shuts down on SIGTERM.
 */
import http from 'node:http';
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { createMergeQueue } from '../shared/merge-job.js';
import { createRequestConnection } from '../shared/redis-connection.js';
import { StorageLayout } from '../shared/storage-layout.js';
import { UploadStore } from '../shared/upload-store.js';
import { runUntilSignalled } from '../shared/process-lifecycle.js';
import { buildIngestApp } from './app.js';

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL, 'ingest');
const layout = new StorageLayout(config.dataDir);
await layout.ensure();

const redis = createRequestConnection(config.REDIS_URL);
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
const store = new UploadStore({
  redis,
  prefix: config.REDIS_PREFIX,
  idleTtlSeconds: config.UPLOAD_TTL,
  resultTtlSeconds: config.RESULT_TTL,
});
const mergeQueue = createMergeQueue(redis, config.REDIS_PREFIX);
const app = buildIngestApp({ config, store, mergeQueue, layout, logger });

const server = http.createServer(app.callback());
// Slow or stalled clients must not pin a connection forever.
server.requestTimeout = 5 * 60_000;
server.headersTimeout = 30_000;
server.keepAliveTimeout = 65_000;
server.listen(config.PORT, config.HOST, () => {
  logger.info({ port: config.PORT, host: config.HOST, dataDir: config.dataDir }, 'ingest listening');
});

runUntilSignalled(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await mergeQueue.close();
  await redis.quit();
});
