/**
 * Property tests of the piece geometry (services/core/layout.ts) against the way the
 * browser libraries cut files: resumable.js and flow.js round the count down by default
 * and up with forceChunkSize; Dropzone, Fine Uploader and Plupload round it up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isUploadError } from '../../services/core/errors.js';
import { CEIL, EITHER, FLOOR, pieceCount, pieceLength, placePiece, roundingsFitting, settledPieceCount } from '../../services/core/layout.js';
import { cutChunks } from '../helpers/upload-client.js';

// Up to 20,000 pieces per file: every piece of every cut is checked.
const geometryArb = fc.record({ size: fc.nat({ max: 10_000_000 }), pieceSize: fc.integer({ min: 500, max: 3_000_000 }) });
const limits = { maxFileSize: 20_000_000, maxRangeLength: 10_000_000, maxPieces: 20_000_000 };

test('piece lengths of either rounding add up to the file and match the client cut', () => {
  fc.assert(
    fc.property(geometryArb, fc.boolean(), ({ size, pieceSize }, force) => {
      const rounding = force ? CEIL : FLOOR;
      const cut = cutChunks(size, pieceSize, force);
      assert.equal(pieceCount(size, pieceSize, rounding), cut.length);
      let sum = 0;
      for (const chunk of cut) {
        const length = pieceLength(size, pieceSize, rounding, chunk.number - 1);
        assert.equal(length, chunk.end - chunk.start);
        assert.ok(roundingsFitting(size, pieceSize, EITHER, chunk.number - 1, length!) & rounding, 'the client piece fits its own rounding');
        assert.equal(placePiece(size, { pieceSize, roundings: EITHER }, chunk.number - 1, length!, limits).offset, chunk.start, 'piece n starts at (n - 1) × size in both roundings');
        sum += length!;
      }
      assert.equal(sum, size);
    }),
  );
});

test('once every piece of one client cut is seen, the roundings left settle on that cut', () => {
  fc.assert(
    fc.property(geometryArb, fc.boolean(), ({ size, pieceSize }, force) => {
      const cut = cutChunks(size, pieceSize, force);
      let mask = EITHER;
      for (const chunk of cut) mask &= roundingsFitting(size, pieceSize, EITHER, chunk.number - 1, chunk.end - chunk.start);
      assert.notEqual(mask, 0);
      assert.equal(settledPieceCount(size, pieceSize, mask), cut.length);
    }),
  );
});

test('a wrong length fits no rounding, and is refused before anything is stored', () => {
  fc.assert(
    fc.property(geometryArb, fc.integer({ min: 1, max: 1000 }), ({ size, pieceSize }, delta) => {
      const length = pieceLength(size, pieceSize, FLOOR, 0)! + delta;
      fc.pre(length !== pieceLength(size, pieceSize, CEIL, 0));
      assert.equal(roundingsFitting(size, pieceSize, EITHER, 0, length), 0);
      assert.throws(() => placePiece(size, { pieceSize, roundings: EITHER }, 0, length, limits), (err) => isUploadError(err, 'range_size_mismatch', 'range_too_large'));
    }),
  );
});

test('a layout that allows one rounding refuses the other', () => {
  // 10 bytes in pieces of 4: ceil cuts 4+4+2, floor cuts 4+6.
  assert.equal(placePiece(10, { pieceSize: 4, roundings: CEIL }, 2, 2, limits).fits, CEIL);
  assert.throws(() => placePiece(10, { pieceSize: 4, roundings: CEIL }, 1, 6, limits), (err) => isUploadError(err, 'range_size_mismatch'));
  assert.throws(() => placePiece(10, { pieceSize: 4, roundings: FLOOR }, 2, 2, limits), (err) => isUploadError(err, 'range_out_of_bounds'));
});
