/**
 * The early part of a large upload's merge: while the upload still receives, add its
 * bytes to the merged file as soon as they are contiguous from the start (the state
 * store's `prefix`), so that when the last range arrives little is left to merge. Only
 * recorded ranges are added: a recorded range never changes. Its job was added with the
 * upload's second stored range (record-ranges.lua).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { StateStore } from '../../core/state-store.js';
import type { Assembly } from '../../core/storage-driver.js';
import type { UploadRecord } from '../../core/upload.js';

export interface FollowOptions {
  state: StateStore;
  keyHash: string;
  upload: UploadRecord;
  assembly: Assembly;
  /** With nothing new added for this long, the slot is given back (the job parks). */
  idleMs: number;
  signal?: AbortSignal;
  /** Told after each batch of ranges is added. */
  onAdded?: () => Promise<void>;
}

/** completed: merge on from `assembly.size`; parked: the slot was given back; gone: cancelled, failed, expired or replaced. */
export type FollowEnd = 'completed' | 'parked' | 'gone';

/** Ranges looked up per round trip. */
const PEEK_BATCH = 64;
/** Waits between looks while nothing comes: short at first, so the tail starts soon after the last range. */
const FIRST_WAIT_MS = 5;
const LONGEST_WAIT_MS = 200;

export async function followWhileReceiving(options: FollowOptions): Promise<FollowEnd> {
  const { state, keyHash, upload, assembly, idleMs, signal } = options;
  let lastAddedAt = Date.now();
  let waitMs = FIRST_WAIT_MS;
  for (;;) {
    signal?.throwIfAborted();
    const peek = await state.peekRanges(keyHash, upload.uploadId, assembly.size, PEEK_BATCH);
    if (peek.state === 'queued' || peek.state === 'merging') return 'completed';
    if (peek.state !== 'receiving') return 'gone';
    if (peek.ranges.length > 0) {
      await assembly.add(peek.ranges.map((range) => ({ ...range, storageKey: upload.storageKey })));
      await options.onAdded?.();
      lastAddedAt = Date.now();
      waitMs = FIRST_WAIT_MS;
      continue;
    }
    if (Date.now() - lastAddedAt >= idleMs) {
      if (await state.parkEarlyMerge(keyHash, upload.uploadId)) return 'parked';
      continue; // the upload completed (or ended) meanwhile: the next look says which
    }
    // An aborted wait rejects with an AbortError; what stopped it is the signal's reason.
    await sleep(waitMs, undefined, { signal }).catch((err: unknown) => {
      signal?.throwIfAborted();
      throw err;
    });
    waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS);
  }
}
