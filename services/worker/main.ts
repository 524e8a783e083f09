/**
 * The worker process: merges completed uploads (and sends webhooks) until SIGTERM.
 */
import { loadConfigOrExit } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { runUntilSignalled } from '../shared/process-lifecycle.js';
import { createWorkerService } from './worker-service.js';

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'worker');
const worker = await createWorkerService(config, logger);
worker.server.listen(config.WORKER_PORT, config.HOST);
worker.ready.then(
  () => logger.info({ concurrency: config.MERGE_CONCURRENCY, dataDir: config.dataDir, port: config.WORKER_PORT }, 'worker ready'),
  (err: unknown) => logger.error({ err }, 'worker could not start'),
);

// An active merge may finish within most of the deadline; after that it is handed back
// to the queue, and another worker redoes it from the start (the processor is idempotent).
runUntilSignalled(logger, config.SHUTDOWN_TIMEOUT_MS, () => worker.close(Math.max(config.SHUTDOWN_TIMEOUT_MS - 2_000, 0)));
