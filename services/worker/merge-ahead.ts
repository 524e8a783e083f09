/**
 * The early part of a large upload's merge: while the upload is still receiving, append
 * each chunk as soon as it and every chunk before it are recorded, so that when the last
 * chunk arrives only the tail is left to merge (record-chunk.lua starts this job with
 * the upload's first chunk).
 *
 * Only chunks before the last of the floor geometry are appended here: those hold exactly
 * ChunkSize bytes whichever way the client rounds its chunk count (chunk-geometry.ts);
 * the rest waits until the upload is complete and its geometry settled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FLOOR_MODE, chunkCount } from '../shared/chunk-geometry.js';
import { CHUNK_FILE_PATTERN, type StorageLayout } from '../shared/storage-layout.js';
import type { UploadRecord, UploadStore } from '../shared/upload-store.js';
import { BrokenChunkError, type ChunkSource, type MergeOutput } from './merge-output.js';

export interface MergeAheadOptions {
  store: UploadStore;
  layout: StorageLayout;
  keyHash: string;
  upload: UploadRecord;
  output: MergeOutput;
  /** With no new chunk appended for this long, the slot is given back (the job parks). */
  idleMs: number;
  signal?: AbortSignal;
}

/**
 * completed: the upload is complete, merge on from `nextChunk`; parked: the slot was given
 * back; gone: the upload was cancelled, failed, expired or replaced.
 */
export type MergeAheadEnd = { end: 'completed'; nextChunk: number } | { end: 'parked' } | { end: 'gone' };

/** Chunk numbers looked up per Redis round trip. */
const PEEK_BATCH = 32;
/** Waits between looks while no chunk comes: short at first, so the tail starts soon after the last chunk. */
const FIRST_WAIT_MS = 5;
const LONGEST_WAIT_MS = 200;

export async function mergeAhead(options: MergeAheadOptions): Promise<MergeAheadEnd> {
  const { store, layout, keyHash, upload, output, idleMs, signal } = options;
  const geometry = { totalSize: upload.totalSize, chunkSize: upload.chunkSize };
  const lastFullChunk = chunkCount(geometry, FLOOR_MODE) - 1;
  let nextChunk = 1;
  let lastAppendAt = Date.now();
  let waitMs = FIRST_WAIT_MS;

  for (;;) {
    signal?.throwIfAborted();
    const peek = await store.peekChunks(keyHash, upload.uploadId, nextChunk, PEEK_BATCH);
    if (peek.state === 'queued' || peek.state === 'merging') return { end: 'completed', nextChunk };
    if (peek.state !== 'receiving') return { end: 'gone' };

    const ready: ChunkSource[] = [];
    for (const file of peek.files) {
      const number = nextChunk + ready.length;
      if (file === undefined || number > lastFullChunk) break;
      if (!CHUNK_FILE_PATTERN.test(file)) throw new BrokenChunkError(`chunk ${number} has an invalid file name`);
      ready.push({ path: layout.chunkPath(keyHash, file), expectedLength: upload.chunkSize });
    }
    if (ready.length > 0) {
      await output.append(ready, nextChunk);
      nextChunk += ready.length;
      lastAppendAt = Date.now();
      waitMs = FIRST_WAIT_MS;
      continue;
    }
    if (Date.now() - lastAppendAt >= idleMs) {
      if (await store.parkEarlyMerge(keyHash, upload.uploadId)) return { end: 'parked' };
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
