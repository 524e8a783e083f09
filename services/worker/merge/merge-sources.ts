/**
 * The stored ranges a merge reads, in order: an upload's own, or, for a tus final upload,
 * those of each of its partial uploads one after another. Checked before a byte is read:
 * they must cover the upload from its first byte to its last without a gap.
 */
import { uploadKeyHash } from '../../core/keys.js';
import type { StateStore } from '../../core/state-store.js';
import { MissingDataError, type SourceRange } from '../../core/storage-driver.js';
import type { UploadRecord } from '../../core/upload.js';

/** Every source range of a complete upload from byte `from` on. */
export async function rangesToMerge(state: StateStore, keyHash: string, upload: UploadRecord, from: number): Promise<SourceRange[]> {
  const sources = upload.concatOf ? await partialsOf(state, upload) : await ownRanges(state, keyHash, upload.storageKey);
  checkCoverage(sources, upload.size ?? 0);
  return sources.filter((range) => range.merged >= from).map(({ merged: _merged, ...range }) => range);
}

type Placed = SourceRange & { merged: number };

async function ownRanges(state: StateStore, keyHash: string, storageKey: string): Promise<Placed[]> {
  return (await state.ranges(keyHash)).map((range) => ({ ...range, storageKey, merged: range.offset }));
}

async function partialsOf(state: StateStore, final: UploadRecord): Promise<Placed[]> {
  const sources: Placed[] = [];
  let base = 0;
  for (const partialId of final.concatOf!) {
    const keyHash = uploadKeyHash(final.scope, partialId);
    const partial = await state.read(keyHash);
    if (!partial || partial.state !== 'complete') throw new MissingDataError(`partial upload ${partialId} is no longer there`);
    for (const range of await state.ranges(keyHash)) sources.push({ ...range, storageKey: partial.storageKey, merged: base + range.offset });
    base += partial.size ?? 0;
  }
  return sources;
}

function checkCoverage(sources: Placed[], size: number): void {
  let expected = 0;
  for (const range of sources) {
    if (range.merged !== expected) throw new MissingDataError(`the bytes at ${expected} were never stored`);
    expected += range.length;
  }
  if (expected !== size) throw new MissingDataError(`${expected} bytes stored, ${size} expected`);
}
