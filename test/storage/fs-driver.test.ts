/** The filesystem driver against the conformance suite, on a real temp folder. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FsDriver } from '../../services/storage/fs/fs-driver.js';
import { driverConformance } from './driver-conformance.js';

driverConformance('filesystem', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-fs-driver-'));
  const driver = await new FsDriver({ dataDir, reserveBytes: 1024 * 1024 }).init();
  return {
    driver,
    readPublished: (file) => readFile(path.join(dataDir, file.location)).catch(() => undefined),
    stop: () => rm(dataDir, { recursive: true, force: true }),
  };
});
