/** Builds the storage driver the configuration names (STORAGE). */
import type { StorageDriver } from '../core/storage-driver.js';
import { FsDriver } from '../storage/fs/fs-driver.js';
import type { Config } from './config.js';

export async function createStorageDriver(config: Config): Promise<StorageDriver> {
  return new FsDriver({ dataDir: config.dataDir, reserveBytes: config.MIN_FREE_DISK }).init();
}
