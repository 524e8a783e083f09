/**
 * Property tests of the resumable.js/flow.js/simple-uploader.js field parser and the core's
 * checks behind it: whatever a client sends, it is either read back exactly or refused
 * with an UploadError whose status (in the adapter's table) is a 4xx, never anything else;
 * and no path separator or control character ever gets through in a name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { UploadError } from '../../services/core/errors.js';
import { placePiece, checkDeclaration } from '../../services/core/layout.js';
import { readChunkRequest } from '../../services/ingest/protocols/resumable/fields.js';
import { RESUMABLE_STATUSES } from '../../services/ingest/protocols/resumable/statuses.js';
import { FieldSource } from '../../services/ingest/protocols/shared/field-source.js';

const fieldNames = ['ChunkNumber', 'ChunkSize', 'CurrentChunkSize', 'TotalSize', 'Identifier', 'Filename', 'RelativePath', 'Type', 'TotalChunks'];
const limits = { maxFileSize: 10 * 1024 ** 3, maxRangeLength: 16 * 1024 ** 2, maxPieces: 100_000 };

const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom('', '0', '-1', '1e3', '0x10', ' 1', '9007199254740993', '../..', '/etc/passwd', 'a\u0000b', '．．', 'a／b', 'a\u2215b', 'x\u202Ey', 'CON .txt'),
  fc.nat().map(String),
);
const rawFields = fc.dictionary(
  fc.tuple(fc.constantFrom('resumable', 'flow', 'other'), fc.constantFrom(...fieldNames)).map(([p, n]) => `${p}${n}`),
  fc.oneof(hostileString, fc.array(hostileString, { maxLength: 3 })),
);

test('any input is read or refused with a 4xx UploadError, never a crash', () => {
  fc.assert(
    fc.property(rawFields, rawFields, fc.constantFrom('resumable', 'flow'), (body, query, prefix) => {
      try {
        const chunk = readChunkRequest(new FieldSource([body, query]), prefix, 'resumable');
        const { declaration } = chunk;
        checkDeclaration(declaration.size, declaration.layout, limits);
        placePiece(declaration.size, declaration.layout, chunk.chunkNumber - 1, chunk.currentChunkSize, limits);
        assert.ok(!/[/\\\u0000-\u001f\u2215]/.test(declaration.name), 'no separator or control character in a filename');
        assert.ok(!/[\u0000-\u001f\\]/.test(declaration.relativePath) && !declaration.relativePath.split('/').includes('..'));
        assert.match(chunk.identifier, /^[\x21-\x7e]{1,255}$/);
      } catch (err) {
        if (!(err instanceof UploadError)) throw err;
        const status = RESUMABLE_STATUSES[err.code];
        assert.ok(status >= 400 && status < 500, `${err.code} is a 4xx`);
      }
    }),
    { numRuns: 3000 },
  );
});

const validFields = fc.record({
  chunkNumber: fc.integer({ min: 1, max: 1_000_000 }),
  chunkSize: fc.integer({ min: 1, max: 2 ** 40 }),
  currentChunkSize: fc.nat({ max: 2 ** 40 }),
  totalSize: fc.nat({ max: 2 ** 50 }),
  identifier: fc.stringMatching(/^[0-9A-Za-z_-]{1,255}$/),
  filename: fc.stringMatching(/^[0-9A-Za-z_ -]{1,40}\.[a-z]{1,5}$/),
  type: fc.constantFrom('', 'image/png', 'application/pdf'),
});

test('well-formed fields read back exactly, from either prefix (or none), body before query', () => {
  fc.assert(
    fc.property(validFields, fc.constantFrom('resumable', 'flow', ''), (fields, prefix) => {
      const name = (key: string) => (prefix ? `${prefix}${key[0]!.toUpperCase()}${key.slice(1)}` : key);
      const sent = Object.fromEntries(Object.entries(fields).map(([k, v]) => [name(k), String(v)]));
      const decoy = Object.fromEntries(Object.keys(sent).map((k) => [k, 'ignored']));
      const read = readChunkRequest(new FieldSource([sent, decoy]), prefix, 'resumable');
      assert.deepEqual(
        { chunkNumber: read.chunkNumber, currentChunkSize: read.currentChunkSize, identifier: read.identifier },
        { chunkNumber: fields.chunkNumber, currentChunkSize: fields.currentChunkSize, identifier: fields.identifier },
      );
      assert.deepEqual(read.declaration, {
        size: fields.totalSize,
        layout: { kind: 'pieces', pieceSize: fields.chunkSize, roundings: 3 },
        name: fields.filename,
        relativePath: fields.filename,
        type: fields.type,
        protocol: 'resumable',
      });
    }),
  );
});
