/**
 * Property tests of the field parser: whatever a client sends, it either reads the
 * fields back exactly or refuses them with a ChunkyardError (a 4xx), never anything else;
 * and it never lets a path separator or control character through in a name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { readChunkFields } from '../../services/ingest/chunk-fields.js';
import { parseChunkRequest } from '../../services/ingest/chunk-request.js';
import { ChunkyardError } from '../../services/shared/errors.js';

const fieldNames = ['ChunkNumber', 'ChunkSize', 'CurrentChunkSize', 'TotalSize', 'Identifier', 'Filename', 'RelativePath', 'Type', 'TotalChunks'];
const limits = { maxFileSize: 10 * 1024 ** 3, maxChunkSize: 16 * 1024 ** 2, maxChunks: 100_000 };

const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom('', '0', '-1', '1e3', '0x10', ' 1', '9007199254740993', '../..', '/etc/passwd', 'a\u0000b', '．．', 'a／b', 'x\u202Ey'),
  fc.nat().map(String),
);
const rawFields = fc.dictionary(
  fc.tuple(fc.constantFrom('resumable', 'flow', 'other'), fc.constantFrom(...fieldNames)).map(([p, n]) => `${p}${n}`),
  fc.oneof(hostileString, fc.array(hostileString, { maxLength: 3 })),
);

test('any input is read or refused with a ChunkyardError, never a crash', () => {
  fc.assert(
    fc.property(rawFields, rawFields, (body, query) => {
      try {
        const request = parseChunkRequest([body, query], limits, 'scope');
        const { filename, relativePath, identifier } = request.fields;
        assert.ok(!/[/\\\u0000-\u001f]/.test(filename), 'no separator or control character in a filename');
        assert.ok(!/[\u0000-\u001f\\]/.test(relativePath) && !relativePath.split('/').includes('..'));
        assert.match(identifier, /^[\x21-\x7e]{1,255}$/);
      } catch (err) {
        if (!(err instanceof ChunkyardError)) throw err;
        assert.ok(err.status >= 400 && err.status < 500);
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

test('well-formed fields read back exactly, from either prefix, body before query', () => {
  fc.assert(
    fc.property(validFields, fc.constantFrom('resumable', 'flow'), (fields, prefix) => {
      const sent = Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${prefix}${k[0]!.toUpperCase()}${k.slice(1)}`, String(v)]));
      const decoy = Object.fromEntries(Object.keys(sent).map((k) => [k, 'ignored']));
      const read = readChunkFields([sent, decoy]);
      assert.deepEqual(read, { ...fields, relativePath: fields.filename });
    }),
  );
});
