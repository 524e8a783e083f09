import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, renderConfigTable } from '../../services/shared/config.js';
import { repoRoot } from '../helpers/processes.js';

test('defaults give a working configuration', () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 3000);
  assert.equal(config.REDIS_URL, 'redis://127.0.0.1:6379');
  assert.equal(config.MAX_CHUNK_SIZE, 16 * 1024 * 1024);
  assert.equal(config.CHUNK_FSYNC, true);
  assert.ok(path.isAbsolute(config.dataDir));
  assert.ok(Object.isFrozen(config));
});

test('sizes take units and booleans take words', () => {
  const config = loadConfig({ MAX_FILE_SIZE: '2GB', MAX_CHUNK_SIZE: '1048576', CHUNK_FSYNC: 'off' });
  assert.equal(config.MAX_FILE_SIZE, 2 * 1024 ** 3);
  assert.equal(config.MAX_CHUNK_SIZE, 1024 ** 2);
  assert.equal(config.CHUNK_FSYNC, false);
});

test('every problem is reported at once', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', REDIS_URL: 'http://x', MAX_FILE_SIZE: 'huge', LOG_LEVEL: 'loud', CHUNK_FSYNC: 'maybe' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const names = err.problems.map((p) => p.split(':')[0]);
      assert.deepEqual(names.sort(), ['CHUNK_FSYNC', 'LOG_LEVEL', 'MAX_FILE_SIZE', 'PORT', 'REDIS_URL']);
      return true;
    },
  );
});

test('early merges leave completed uploads a slot: the default yields to MERGE_CONCURRENCY=1, an explicit contradiction is refused', () => {
  assert.equal(loadConfig({}).EARLY_MERGES_PER_WORKER, 1);
  assert.equal(loadConfig({ MERGE_CONCURRENCY: '1' }).EARLY_MERGES_PER_WORKER, 0);
  assert.equal(loadConfig({ MERGE_CONCURRENCY: '4', EARLY_MERGES_PER_WORKER: '3' }).EARLY_MERGES_PER_WORKER, 3);
  assert.throws(() => loadConfig({ MERGE_CONCURRENCY: '2', EARLY_MERGES_PER_WORKER: '2' }), /EARLY_MERGES_PER_WORKER: must be less than MERGE_CONCURRENCY/);
});

test('a chunk limit above the file limit is refused', () => {
  assert.throws(() => loadConfig({ MAX_FILE_SIZE: '1MB', MAX_CHUNK_SIZE: '2MB' }), /MAX_CHUNK_SIZE/);
});

test("the README's configuration table is the one the schema renders", async () => {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  assert.ok(readme.includes(renderConfigTable()), 'run `npm run config:table` and paste its output into README.md');
});
