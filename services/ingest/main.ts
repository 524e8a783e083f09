/**
 * The ingest process: reads config, listens, and shuts down gracefully on SIGTERM.
 */
import v8 from 'node:v8';
import { loadConfigOrExit } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { runUntilSignalled } from '../shared/process-lifecycle.js';
import { createIngestService } from './ingest-service.js';

// Objects of chunk requests in flight outlive a few scavenges and are promoted; by default
// V8 lets old space grow to about 3× what the last full GC kept before it collects them.
// Doubling is the limit here: with --max-semi-space-size=2 on the command line the ingest
// peaks near 120 MiB while a 4 GiB file streams in. 50 % held it lower but made V8 run a
// full GC every few MiB of raw (octet) bodies, a quarter more CPU (bench/README.md, "Memory").
v8.setFlagsFromString('--heap-growing-percent=100');

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'ingest');
const ingest = await createIngestService(config, logger);
ingest.server.listen(config.PORT, config.HOST, () => {
  logger.info({ port: config.PORT, host: config.HOST, dataDir: config.dataDir }, 'ingest listening');
});
ingest.opsServer.listen(config.OPS_PORT, config.HOST);

// In-flight chunks get most of the deadline; the rest is for closing connections.
runUntilSignalled(logger, config.SHUTDOWN_TIMEOUT_MS, () => ingest.close(Math.max(config.SHUTDOWN_TIMEOUT_MS - 1_000, 0)));
