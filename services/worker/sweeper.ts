/**
 * The sweep, a BullMQ job any worker may run: removes stored bytes no live upload owns.
 * Those of an upload whose state expired (UPLOAD_TTL without new data), of a refused or
 * conflicting request that was never counted, or left by a crashed merge. A live upload's
 * bytes are never touched: the state store's claim (claimForSweep) says so, and holds new
 * uploads off a key while its old bytes go. Bytes nothing owns are removed once nothing
 * can still be writing them: untouched for longer than any request may last.
 */
import type { Logger } from 'pino';
import type { StateStore } from '../core/state-store.js';
import type { StorageDriver, SweepReport } from '../core/storage-driver.js';

/** How long a claim holds new uploads off a key whose old bytes are being removed. */
const CLAIM_HOLD_MS = 30_000;

export interface SweeperOptions {
  state: StateStore;
  storage: StorageDriver;
  /** Bytes untouched for this long may go when nothing owns them (REQUEST_TIMEOUT_MS and a margin). */
  unownedAfterMs: number;
  logger: Logger;
}

export function createSweeper({ state, storage, unownedAfterMs, logger }: SweeperOptions) {
  return async function sweep(olderThanMs = unownedAfterMs): Promise<SweepReport> {
    const report = await storage.sweep((storageKey) => state.claimForSweep(storageKey.slice(0, 32), storageKey, CLAIM_HOLD_MS), olderThanMs);
    if (report.uploads + report.assemblies > 0) logger.info(report, 'swept upload data nothing owns');
    return report;
  };
}
