/**
 * The ingest process: reads config, listens, and shuts down gracefully on SIGTERM.
 */
import v8 from 'node:v8';
import { loadConfigOrExit } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { runUntilSignalled } from '../shared/process-lifecycle.js';
import { createIngestService } from './ingest-service.js';

// Every chunk body passes through short-lived buffers; by default V8 lets the heap grow
// far past what is live before it collects (bench/README.md, "Memory"). Together with
// --max-semi-space-size=2 on the command line this keeps the ingest near 105 MiB.
v8.setFlagsFromString('--heap-growing-percent=50');

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'ingest');
const ingest = await createIngestService(config, logger);
ingest.server.listen(config.PORT, config.HOST, () => {
  logger.info({ port: config.PORT, host: config.HOST, dataDir: config.dataDir }, 'ingest listening');
});

// In-flight chunks get most of the deadline; the rest is for closing connections.
runUntilSignalled(logger, config.SHUTDOWN_TIMEOUT_MS, () => ingest.close(Math.max(config.SHUTDOWN_TIMEOUT_MS - 1_000, 0)));
