/**
 * Builds the ingest Koa app from its dependencies. It never listens: main.ts does, and
 * tests mount it on a server of their own around a real Redis.
 */
import Koa from 'koa';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../shared/config.js';
import type { MergeJobData, MergeJobResult } from '../shared/merge-job.js';
import type { StorageLayout } from '../shared/storage-layout.js';
import type { UploadStore } from '../shared/upload-store.js';
import { ChunkFiles } from './chunk-files.js';
import { ChunkIntake } from './chunk-intake.js';
import { MergeEnqueuer } from './merge-enqueuer.js';
import { errorHandler } from './middleware/error-handler.js';
import { requestContext } from './middleware/request-context.js';
import { uploadRoutes } from './upload-routes.js';

export interface IngestDependencies {
  config: Pick<Config, 'MAX_FILE_SIZE' | 'MAX_CHUNK_SIZE' | 'MAX_CHUNKS' | 'UPLOAD_NAMESPACE' | 'CHUNK_FSYNC' | 'MERGE_ATTEMPTS'>;
  store: UploadStore;
  mergeQueue: Queue<MergeJobData, MergeJobResult>;
  layout: StorageLayout;
  logger: Logger;
}

export function buildIngestApp({ config, store, mergeQueue, layout, logger }: IngestDependencies): Koa {
  const app = new Koa();
  // Errors are rendered and logged by errorHandler; Koa's default printer would log them again.
  app.silent = true;

  const intake = new ChunkIntake(
    new ChunkFiles(layout, config.CHUNK_FSYNC),
    store,
    new MergeEnqueuer(mergeQueue, store, config.MERGE_ATTEMPTS),
    logger.child({ module: 'intake' }),
  );
  const uploads = uploadRoutes({
    intake,
    store,
    limits: { maxFileSize: config.MAX_FILE_SIZE, maxChunkSize: config.MAX_CHUNK_SIZE, maxChunks: config.MAX_CHUNKS },
    namespace: config.UPLOAD_NAMESPACE,
    tmpDir: layout.tmpDir,
  });

  app.use(requestContext(logger.child({ module: 'http' })));
  app.use(errorHandler());
  app.use(uploads.routes());
  app.use(uploads.allowedMethods({ throw: true }));
  return app;
}
