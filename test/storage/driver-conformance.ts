/**
 * The conformance suite every storage driver must pass (in the spirit of tus-node-server's
 * shared store tests): the same writes, reads, merges, removals and sweeps, against a real
 * filesystem or a real S3 server. A driver's test file calls `driverConformance` with a
 * way to make a fresh driver and to read back what it published.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { isUploadError } from '../../services/core/errors.js';
import { MissingDataError, PartialWriteError, type RangeWrite, type SourceRange, type StorageDriver, type WrittenPiece } from '../../services/core/storage-driver.js';
import type { PublishedFile } from '../../services/core/upload.js';

export interface DriverUnderTest {
  driver: StorageDriver;
  readPublished(file: PublishedFile): Promise<Buffer | undefined>;
  stop(): Promise<void>;
}

let counter = 0;
const newKey = () => createHash('sha256').update(`${process.pid}-${counter++}-${Math.random()}`).digest('hex').slice(0, 32);
const newUploadId = () => randomBytes(16).toString('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A body that yields `bytes` in pieces, then (optionally) fails as a client that goes away. */
function body(bytes: Buffer, options: { failAfter?: number; piece?: number } = {}): Readable {
  const piece = options.piece ?? 64 * 1024;
  let sent = 0;
  return new Readable({
    read() {
      if (options.failAfter !== undefined && sent >= options.failAfter) return this.destroy(new Error('aborted'));
      if (sent >= bytes.length) return this.push(null);
      const end = Math.min(sent + piece, bytes.length, options.failAfter ?? Number.POSITIVE_INFINITY);
      this.push(bytes.subarray(sent, end));
      sent = end;
    },
  });
}

function rangeWrite(storageKey: string, offset: number, length: number | undefined, extra: Partial<RangeWrite> = {}): RangeWrite {
  return { storageKey, offset, length, maxLength: 64 * 1024 * 1024, keepPartial: false, durable: true, ...extra };
}

/** Writes `file` in pieces of `pieceSize`, in the given order; returns every piece stored. */
async function writePieces(driver: StorageDriver, storageKey: string, file: Buffer, pieceSize: number, order: number[]): Promise<WrittenPiece[]> {
  const pieces: WrittenPiece[] = [];
  for (const index of order) {
    const start = index * pieceSize;
    const bytes = file.subarray(start, Math.min(start + pieceSize, file.length));
    pieces.push(...(await driver.write(rangeWrite(storageKey, start, bytes.length), body(bytes))));
  }
  return pieces.sort((a, b) => a.offset - b.offset);
}

const asSources = (storageKey: string, pieces: WrittenPiece[]): SourceRange[] => pieces.map((piece) => ({ storageKey, offset: piece.offset, length: piece.length, location: piece.location }));

async function assemble(driver: StorageDriver, storageKey: string, uploadId: string, sources: SourceRange[], size: number, name = 'merged.bin') {
  const assembly = await driver.openAssembly({ uploadId, storageKey, name, type: 'application/octet-stream', size });
  await assembly.add(sources);
  return assembly.finish();
}

export function driverConformance(name: string, make: () => Promise<DriverUnderTest>): void {
  describe(`storage driver conformance: ${name}`, () => {
    const withDriver = (title: string, body: (under: DriverUnderTest) => Promise<void>) =>
      test(title, async () => {
        const under = await make();
        try {
          await body(under);
        } finally {
          await under.stop();
        }
      });

    withDriver('declares its capabilities and is ready', async ({ driver }) => {
      assert.equal(typeof driver.capabilities.writesInPlace, 'boolean');
      assert.equal(typeof driver.capabilities.serverSideConcat, 'boolean');
      assert.ok(driver.capabilities.minPartSize >= 0);
      await driver.ready();
    });

    withDriver('pieces written out of order and twice merge into the exact bytes, published under files/<upload id>/<name>', async ({ driver, readPublished }) => {
      const file = randomBytes(5 * 1024 * 1024 + 123);
      const storageKey = newKey();
      const uploadId = newUploadId();
      const pieceSize = 1024 * 1024;
      const pieces = await writePieces(driver, storageKey, file, pieceSize, [3, 0, 5, 1, 4, 2]);
      // A duplicate of a stored piece, as a retry sends it: the merge takes one.
      const duplicate = await driver.write(rangeWrite(storageKey, pieceSize, pieceSize), body(file.subarray(pieceSize, 2 * pieceSize)));
      await driver.discard(storageKey, duplicate.filter((piece) => !driver.capabilities.writesInPlace || piece.location !== ''));
      const result = await assemble(driver, storageKey, uploadId, asSources(storageKey, pieces), file.length, 'report ünïcode.pdf');
      assert.equal(result.size, file.length);
      assert.equal(result.sha256, sha256(file));
      assert.match(result.location, new RegExp(`files/${uploadId}/report ünïcode\\.pdf$`));
      assert.ok((await readPublished(result))?.equals(file), 'the published bytes are the file');
    });

    withDriver('a body of the wrong length is refused and nothing of it is returned as stored', async ({ driver }) => {
      const storageKey = newKey();
      await assert.rejects(driver.write(rangeWrite(storageKey, 0, 1000), body(randomBytes(999))), (err) => isUploadError(err, 'range_size_mismatch'));
      await assert.rejects(driver.write(rangeWrite(storageKey, 0, 1000), body(randomBytes(1001))), (err) => isUploadError(err, 'range_size_mismatch'));
      await assert.rejects(driver.write(rangeWrite(storageKey, 0, undefined, { maxLength: 1000 }), body(randomBytes(5000))), (err) => isUploadError(err, 'range_too_large'));
    });

    withDriver('a body that breaks off keeps what arrived when asked (appends), and those bytes merge', async ({ driver, readPublished }) => {
      const file = randomBytes(3 * 1024 * 1024);
      const storageKey = newKey();
      const broken = driver.write(rangeWrite(storageKey, 0, undefined, { keepPartial: true }), body(file, { failAfter: 2 * 1024 * 1024 }));
      const err = await broken.then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof PartialWriteError, `a PartialWriteError, got ${String(err)}`);
      const kept = err.durable.reduce((sum, piece) => sum + piece.length, 0);
      assert.ok(kept > 0 && kept <= 2 * 1024 * 1024, `kept ${kept} bytes`);
      // The client resumes from there.
      const rest = await driver.write(rangeWrite(storageKey, kept, file.length - kept), body(file.subarray(kept)));
      const result = await assemble(driver, storageKey, newUploadId(), asSources(storageKey, [...err.durable, ...rest]), file.length);
      assert.ok((await readPublished(result))?.equals(file));
    });

    withDriver('a long append reports durable checkpoints as it goes, contiguous and in order', async ({ driver }) => {
      const file = randomBytes(6 * 1024 * 1024);
      const storageKey = newKey();
      const checkpoints: WrittenPiece[] = [];
      const last = await driver.write(
        rangeWrite(storageKey, 0, file.length, { keepPartial: true, checkpointBytes: 1024 * 1024, onCheckpoint: async (pieces) => void checkpoints.push(...pieces) }),
        body(file),
      );
      const all = [...checkpoints, ...last];
      assert.ok(checkpoints.length >= 1, 'at least one checkpoint before the end');
      let expected = 0;
      for (const piece of all) {
        assert.equal(piece.offset, expected, 'contiguous');
        expected += piece.length;
      }
      assert.equal(expected, file.length);
    });

    withDriver("another upload's pieces are joined in (concatenation)", async ({ driver, readPublished }) => {
      const parts = [randomBytes(1024 * 1024 + 7), randomBytes(6 * 1024 * 1024 + 1), randomBytes(5)];
      const sources: SourceRange[] = [];
      for (const part of parts) {
        const key = newKey();
        const pieces = await driver.write(rangeWrite(key, 0, part.length), body(part));
        sources.push(...asSources(key, pieces));
      }
      const finalKey = newKey();
      const all = Buffer.concat(parts);
      const result = await assemble(driver, finalKey, newUploadId(), sources, all.length);
      assert.equal(result.sha256, sha256(all));
      assert.ok((await readPublished(result))?.equals(all));
    });

    withDriver('an empty upload publishes an empty file', async ({ driver, readPublished }) => {
      const storageKey = newKey();
      const pieces = await driver.write(rangeWrite(storageKey, 0, 0), body(Buffer.alloc(0)));
      const result = await assemble(driver, storageKey, newUploadId(), asSources(storageKey, pieces), 0, 'empty.txt');
      assert.equal(result.size, 0);
      assert.equal(result.sha256, sha256(Buffer.alloc(0)));
      assert.equal((await readPublished(result))?.length, 0);
    });

    withDriver('a merge aborted half way leaves the pieces to merge again; merging twice publishes the same file', async ({ driver, readPublished }) => {
      const file = randomBytes(3 * 1024 * 1024 + 5);
      const storageKey = newKey();
      const uploadId = newUploadId();
      const pieces = await writePieces(driver, storageKey, file, 1024 * 1024, [0, 1, 2, 3]);
      const first = await driver.openAssembly({ uploadId, storageKey, name: 'x.bin', type: '', size: file.length });
      await first.add(asSources(storageKey, pieces).slice(0, 2));
      await first.abort();
      const again = await assemble(driver, storageKey, uploadId, asSources(storageKey, pieces), file.length, 'x.bin');
      const rerun = await assemble(driver, storageKey, uploadId, asSources(storageKey, pieces), file.length, 'x.bin');
      assert.deepEqual(rerun, again);
      assert.ok((await readPublished(rerun))?.equals(file));
      await driver.unpublish(rerun);
      assert.equal(await readPublished(rerun), undefined, 'unpublished');
    });

    withDriver("a removed upload's bytes are gone: its merge fails with MissingDataError", async ({ driver }) => {
      const file = randomBytes(2 * 1024 * 1024);
      const storageKey = newKey();
      const pieces = await writePieces(driver, storageKey, file, 1024 * 1024, [0, 1]);
      await driver.remove(storageKey);
      await assert.rejects(assemble(driver, storageKey, newUploadId(), asSources(storageKey, pieces), file.length), MissingDataError);
    });

    withDriver('the sweep removes bytes nothing owns once old enough, and keeps live or recent ones', async ({ driver }) => {
      const [abandoned, live] = [newKey(), newKey()];
      for (const key of [abandoned, live]) await driver.write(rangeWrite(key, 0, 1000), body(randomBytes(1000)));
      // Recent bytes are not even offered to the claim.
      const offered: string[] = [];
      await driver.sweep(async (key) => (offered.push(key), true), 3_600_000);
      assert.ok(!offered.includes(abandoned) && !offered.includes(live), 'recent bytes are left alone');
      // Old enough (a cutoff in the future makes everything old): what the claim allows goes.
      const report = await driver.sweep(async (key) => key !== live, -60_000);
      assert.ok(report.uploads >= 1);
      const survivors: string[] = [];
      await driver.sweep(async (key) => (survivors.push(key), false), -60_000);
      assert.ok(!survivors.includes(abandoned), 'the abandoned bytes are gone');
      assert.ok(survivors.includes(live), 'the live bytes stay');
    });
  });
}
