/** Builds the storage driver the configuration names (STORAGE). */
import path from 'node:path';
import type { StorageDriver } from '../core/storage-driver.js';
import { FsDriver } from '../storage/fs/fs-driver.js';
import { S3Driver } from '../storage/s3/s3-driver.js';
import type { Config } from './config.js';

export async function createStorageDriver(config: Config): Promise<StorageDriver> {
  if (config.STORAGE === 's3') {
    return new S3Driver({
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      bucket: config.S3_BUCKET,
      prefix: config.S3_PREFIX,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      spoolDir: path.join(config.dataDir, 'tmp'),
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
      timeoutMs: config.S3_TIMEOUT_MS,
    }).init();
  }
  return new FsDriver({ dataDir: config.dataDir, reserveBytes: config.MIN_FREE_DISK }).init();
}
