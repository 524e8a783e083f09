/**
 * Property tests of the chunk geometry against the way the browser libraries cut files.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BOTH_MODES, CEIL_MODE, FLOOR_MODE, chunkCount, expectedChunkLength, modesFitting, settledChunkCount } from '../../services/shared/chunk-geometry.js';
import { cutChunks } from '../helpers/upload-client.js';

const geometryArb = fc.record({ totalSize: fc.nat({ max: 10_000_000 }), chunkSize: fc.integer({ min: 1, max: 3_000_000 }) });

test('chunk lengths of either mode add up to the file and match the client cut', () => {
  fc.assert(
    fc.property(geometryArb, fc.boolean(), (geometry, force) => {
      const mode = force ? CEIL_MODE : FLOOR_MODE;
      const cut = cutChunks(geometry.totalSize, geometry.chunkSize, force);
      assert.equal(chunkCount(geometry, mode), cut.length);
      let sum = 0;
      for (const chunk of cut) {
        const length = expectedChunkLength(geometry, mode, chunk.number);
        assert.equal(length, chunk.end - chunk.start);
        assert.ok(modesFitting(geometry, chunk.number, length!) & mode, 'the client chunk fits its own mode');
        sum += length!;
      }
      assert.equal(sum, geometry.totalSize);
    }),
  );
});

test('once every chunk of one client cut is seen, the modes left settle on that cut', () => {
  fc.assert(
    fc.property(geometryArb, fc.boolean(), (geometry, force) => {
      const cut = cutChunks(geometry.totalSize, geometry.chunkSize, force);
      let mask = BOTH_MODES;
      for (const chunk of cut) mask &= modesFitting(geometry, chunk.number, chunk.end - chunk.start);
      assert.notEqual(mask, 0);
      assert.equal(settledChunkCount(geometry, mask), cut.length);
    }),
  );
});

test('a wrong length fits no mode', () => {
  fc.assert(
    fc.property(geometryArb, fc.integer({ min: 1, max: 1000 }), (geometry, delta) => {
      const length = expectedChunkLength(geometry, FLOOR_MODE, 1)! + delta;
      const ceilLength = expectedChunkLength(geometry, CEIL_MODE, 1)!;
      fc.pre(length !== ceilLength);
      assert.equal(modesFitting(geometry, 1, length), 0);
    }),
  );
});
