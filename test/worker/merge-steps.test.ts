/**
 * The merge's steps, each on its own against a fake state store and driver (the pipeline,
 * fault and soak tests run them together on real ones): which ranges a merge reads, what
 * the queue is told when a merge fails, how an early merge follows, completes or parks, and
 * what publishing does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DelayedError, UnrecoverableError } from 'bullmq';
import pino from 'pino';
import { UploadError } from '../../services/core/errors.js';
import { uploadKeyHash } from '../../services/core/keys.js';
import type { RangePeek, StateStore } from '../../services/core/state-store.js';
import { MissingDataError, type Assembly, type SourceRange, type StorageDriver } from '../../services/core/storage-driver.js';
import type { StoredRange, UploadRecord } from '../../services/core/upload.js';
import { settleFailure } from '../../services/worker/merge/failure-policy.js';
import { followWhileReceiving } from '../../services/worker/merge/follow-early.js';
import type { MergeJob, MergeOptions } from '../../services/worker/merge/merge-options.js';
import { rangesToMerge } from '../../services/worker/merge/merge-sources.js';
import { publishMerge } from '../../services/worker/merge/publish.js';

const log = pino({ level: 'silent' });

function record(overrides: Partial<UploadRecord>): UploadRecord {
  return {
    uploadId: 'u1', state: 'queued', scope: 's', identifier: 'id', protocol: 'test', size: 10, layout: { kind: 'append' }, roundings: 3,
    name: 'f', relativePath: 'f', type: '', metadata: {}, partial: false, concatOf: undefined, storedBytes: 10, storedRanges: 1, prefix: 10,
    storageKey: 'k', quotaSubject: 'q', assembly: undefined, createdAt: 0, expiresAt: 0, earlyMerge: undefined, result: undefined, error: undefined,
    ...overrides,
  };
}

/** A state store that knows a few uploads and their ranges, and records what it is told. */
function fakeState(uploads: Record<string, { record: UploadRecord; ranges: StoredRange[] }>, extra: Partial<StateStore> = {}) {
  const calls: string[] = [];
  const state = {
    read: async (keyHash: string) => uploads[keyHash]?.record,
    ranges: async (keyHash: string) => uploads[keyHash]?.ranges ?? [],
    markFailed: async (_k: string, _u: string, reason: string) => {
      calls.push(`failed: ${reason}`);
      return true;
    },
    ...extra,
  } as unknown as StateStore;
  return { state, calls };
}

function fakeJob(): MergeJob & { moves: number[] } {
  const job = {
    data: { keyHash: 'k', uploadId: 'u1' } as MergeJob['data'],
    moves: [] as number[],
    async moveToDelayed(at: number) {
      job.moves.push(at);
    },
    async updateData(data: MergeJob['data']) {
      job.data = data;
    },
  };
  return job as unknown as MergeJob & { moves: number[] };
}

describe('the ranges a merge reads', () => {
  test('its own ranges in order, from where an early merge stopped', async () => {
    const { state } = fakeState({ k: { record: record({ size: 10 }), ranges: [{ offset: 0, length: 4, location: '' }, { offset: 4, length: 6, location: '' }] } });
    const all = await rangesToMerge(state, 'k', record({ size: 10 }), 0);
    assert.deepEqual(all.map((r) => [r.offset, r.length, r.storageKey]), [[0, 4, 'k'], [4, 6, 'k']]);
    assert.deepEqual((await rangesToMerge(state, 'k', record({ size: 10 }), 4)).map((r) => r.offset), [4]);
  });

  test('a gap, or bytes that do not add up to the size, is missing data: no merge', async () => {
    const gap = fakeState({ k: { record: record({}), ranges: [{ offset: 0, length: 4, location: '' }, { offset: 5, length: 5, location: '' }] } });
    await assert.rejects(rangesToMerge(gap.state, 'k', record({ size: 10 }), 0), /bytes at 4 were never stored/);
    const short = fakeState({ k: { record: record({}), ranges: [{ offset: 0, length: 4, location: '' }] } });
    await assert.rejects(rangesToMerge(short.state, 'k', record({ size: 10 }), 0), MissingDataError);
  });

  test("a final upload reads its partials' ranges one after another", async () => {
    const [p1, p2] = [uploadKeyHash('s', 'part-1'), uploadKeyHash('s', 'part-2')];
    const { state } = fakeState({
      [p1]: { record: record({ state: 'complete', size: 3, storageKey: 'sk1', partial: true }), ranges: [{ offset: 0, length: 3, location: 'a' }] },
      [p2]: { record: record({ state: 'complete', size: 5, storageKey: 'sk2', partial: true }), ranges: [{ offset: 0, length: 2, location: 'b' }, { offset: 2, length: 3, location: 'c' }] },
    });
    const final = record({ size: 8, concatOf: ['part-1', 'part-2'] });
    const sources = await rangesToMerge(state, 'final', final, 0);
    assert.deepEqual(sources.map((r: SourceRange) => `${r.storageKey}@${r.offset}+${r.length}:${r.location}`), ['sk1@0+3:a', 'sk2@0+2:b', 'sk2@2+3:c']);
    await assert.rejects(rangesToMerge(state, 'final', record({ size: 8, concatOf: ['part-1', 'gone'] }), 0), /partial upload gone is no longer there/);
  });
});

describe('what the queue is told when a merge fails', () => {
  const options = (state: StateStore, extra: Partial<MergeOptions> = {}): MergeOptions => ({ state, storage: {} as StorageDriver, logger: log, ...extra });

  test('missing data fails the upload with the reason, and is not retried', async () => {
    const { state, calls } = fakeState({});
    await assert.rejects(settleFailure(options(state), new MissingDataError('the range at 0 ended early'), fakeJob(), 'token', log), UnrecoverableError);
    assert.deepEqual(calls, ['failed: the range at 0 ended early']);
  });

  test('a full storage waits, without using an attempt, a bounded number of times; then the upload fails', async () => {
    const { state, calls } = fakeState({});
    const job = fakeJob();
    const full = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    for (let i = 0; i < 2; i++) await assert.rejects(settleFailure(options(state, { diskFullRetries: 2, diskFullRetryMs: 1000 }), full, job, 'token', log), DelayedError);
    assert.equal(job.moves.length, 2);
    assert.equal(job.data.storageFullWaits, 2);
    await assert.rejects(settleFailure(options(state, { diskFullRetries: 2 }), new UploadError('storage_full'), job, 'token', log), UnrecoverableError);
    assert.match(calls[0]!, /stayed full through 2 tries/);
  });

  test('at shutdown the job goes straight back to the queue; other errors are retried by the queue', async () => {
    const { state } = fakeState({});
    const shutdown = new AbortController();
    shutdown.abort(new Error('stop'));
    const job = fakeJob();
    await assert.rejects(settleFailure(options(state, { shutdownSignal: shutdown.signal }), new Error('interrupted'), job, 'token', log), DelayedError);
    assert.equal(job.moves.length, 1);
    const other = new Error('redis hiccup');
    await assert.rejects(settleFailure(options(state), other, fakeJob(), 'token', log), (err) => err === other);
  });
});

describe('an early merge', () => {
  function assembly(): Assembly & { added: SourceRange[] } {
    const added: SourceRange[] = [];
    return {
      reference: undefined,
      added,
      get size() {
        return added.reduce((sum, r) => sum + r.length, 0);
      },
      async add(ranges) {
        added.push(...ranges);
      },
      async finish() {
        throw new Error('not here');
      },
      async abort() {},
    };
  }

  test('adds the contiguous ranges as they come, and stops when the upload completes', async () => {
    const peeks: RangePeek[] = [
      { state: 'receiving', prefix: 4, size: 10, ranges: [{ offset: 0, length: 4, location: '' }] },
      { state: 'receiving', prefix: 4, size: 10, ranges: [] },
      { state: 'receiving', prefix: 10, size: 10, ranges: [{ offset: 4, length: 6, location: '' }] },
      { state: 'queued', prefix: 10, size: 10, ranges: [] },
    ];
    const { state } = fakeState({}, { peekRanges: async () => peeks.shift()! });
    const target = assembly();
    const end = await followWhileReceiving({ state, keyHash: 'k', upload: record({ state: 'receiving' }), assembly: target, idleMs: 60_000 });
    assert.equal(end, 'completed');
    assert.deepEqual(target.added.map((r) => r.offset), [0, 4]);
  });

  test('with nothing new for idleMs it parks; an upload that ended meanwhile does not', async () => {
    let parked = 0;
    const idle = fakeState({}, { peekRanges: async () => ({ state: 'receiving', prefix: 0, size: 10, ranges: [] }), parkEarlyMerge: async () => (++parked, true) });
    assert.equal(await followWhileReceiving({ state: idle.state, keyHash: 'k', upload: record({ state: 'receiving' }), assembly: assembly(), idleMs: 0 }), 'parked');
    assert.equal(parked, 1);
    const gone = fakeState({}, { peekRanges: async () => ({ state: 'cancelled', prefix: 0, size: 10, ranges: [] }) });
    assert.equal(await followWhileReceiving({ state: gone.state, keyHash: 'k', upload: record({ state: 'receiving' }), assembly: assembly(), idleMs: 0 }), 'gone');
  });
});

describe('publishing a merge', () => {
  test("releases the upload's quota entry once, before the result is recorded, and removes its bytes and ranges", async () => {
    const { state, calls } = fakeState({}, {
      releaseQuota: async (subject: string, member: string) => void calls.push(`release ${subject} ${member}`),
      finishMerge: async () => (calls.push('finish'), true),
      dropRanges: async (keyHash: string) => void calls.push(`drop ${keyHash}`),
    });
    const storage = { remove: async (key: string) => void calls.push(`remove ${key}`) } as unknown as StorageDriver;
    const published = { location: 'files/u1/f', size: 10, sha256: 'x' };
    const finished: Assembly = { size: 10, add: async () => {}, finish: async () => published, abort: async () => {} } as unknown as Assembly;
    const job = Object.assign(fakeJob(), { updateProgress: async () => {} });
    const result = await publishMerge({ state, storage, logger: log }, job, record({}), finished, log);
    assert.deepEqual(result, published);
    assert.deepEqual(calls, ['release q k', 'finish', 'remove k', 'drop k']);
  });
});
