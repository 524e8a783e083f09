/**
 * The sweep, a BullMQ job any worker may run: removes what abandoned uploads and crashed
 * merges left in storage. The state store expires an upload after UPLOAD_TTL without new
 * data; the driver then finds its bytes untouched for as long, and removes them once the
 * state store agrees nothing owns them (claimForSweep).
 */
import type { Logger } from 'pino';
import type { StateStore } from '../core/state-store.js';
import type { StorageDriver, SweepReport } from '../core/storage-driver.js';

/** How long a claim holds new uploads off a key whose old bytes are being removed. */
const CLAIM_HOLD_MS = 30_000;

export function createSweeper(options: { state: StateStore; storage: StorageDriver; ttlSeconds: number; logger: Logger }) {
  const { state, storage, logger } = options;
  return async function sweep(): Promise<SweepReport> {
    const report = await storage.sweep((storageKey) => state.claimForSweep(storageKey.slice(0, 32), storageKey, CLAIM_HOLD_MS), options.ttlSeconds * 1000);
    if (report.uploads + report.assemblies > 0) logger.info(report, 'swept abandoned upload data');
    return report;
  };
}
