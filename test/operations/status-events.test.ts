/**
 * An upload can be watched: GET /uploads/:id reports every state, and server-sent events
 * reach a client on one ingest instance whatever instance or worker caused them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { eventually } from '../helpers/eventually.js';
import { openSse } from '../helpers/sse.js';
import { cutChunks, randomFile, sendChunk, sha256, type UploadOptions } from '../helpers/upload-client.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem({ ingestInstances: 2 });
});
after(() => sys?.stop());

const STATE_ORDER = ['receiving', 'queued', 'merging', 'complete'];

async function status(url: string, identifier: string) {
  const response = await fetch(`${url}/uploads/${encodeURIComponent(identifier)}`);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

test('every state in order, on another instance, with progress to 100 % and the right sha256', async () => {
  const [a, b] = sys.urls as [string, string];
  const file = randomFile(40 * 1024 * 1024 + 99);
  const options: UploadOptions = { urls: [a], identifier: 'watched-upload', chunkSize: 1024 * 1024, filename: 'watched.bin', body: 'octet' };
  const chunks = cutChunks(file.length, options.chunkSize);

  assert.equal((await status(b, options.identifier)).status, 404);
  const perUpload = await openSse(`${b}/uploads/${options.identifier}/events`);
  const all = await openSse(`${b}/events?id=${options.identifier}`);

  for (const chunk of chunks.slice(0, 5)) await sendChunk(a, file, chunk, options);
  const partial = await status(b, options.identifier);
  assert.equal(partial.status, 200);
  assert.equal(partial.body.state, 'receiving');
  assert.equal(partial.body.received, 5);
  assert.equal(partial.body.job, null);

  for (const chunk of chunks.slice(5)) await sendChunk(a, file, chunk, options);
  await perUpload.waitFor((e) => e.data.state === 'queued');
  const queued = await status(b, options.identifier);
  assert.equal(queued.body.state, 'queued');
  assert.equal(queued.body.job.state, 'waiting');

  await sys.startWorker();
  const done = await perUpload.waitFor((e) => e.data.state === 'complete');
  await perUpload.waitFor((e) => e.event === 'progress' && e.data.percent === 100);
  assert.equal(done.data.sha256, sha256(file));

  const seen = perUpload.events.map((e) => String(e.data.state));
  const firstIndex = STATE_ORDER.map((state) => seen.indexOf(state));
  assert.ok(firstIndex.every((index) => index >= 0), `every state seen: ${seen.join(',')}`);
  assert.deepEqual([...firstIndex].sort((x, y) => x - y), firstIndex, `states in order: ${seen.join(',')}`);
  assert.equal(perUpload.events.filter((e) => e.event === 'chunk').length, chunks.length, 'one chunk event per chunk');
  const percents = perUpload.events.filter((e) => e.event === 'progress').map((e) => Number(e.data.percent));
  assert.equal(percents.at(-1), 100, 'progress reaches 100 %');
  assert.ok(percents.length >= 2, `progress reported during the merge too: ${percents.join(',')}`);
  assert.ok(percents.every((p, i) => i === 0 || p >= percents[i - 1]!), 'progress never goes back');

  await all.waitFor((e) => e.data.state === 'complete' && e.data.identifier === options.identifier);
  assert.ok(all.events.every((e) => !('keyHash' in e.data) && !('scope' in e.data)), 'internal fields stay internal');

  // The job itself finishes a moment after the upload is recorded complete.
  const final = await eventually(() => status(b, options.identifier), { accept: (s) => s.body.job?.state === 'completed', what: 'the merge job completed' });
  assert.equal(final.body.state, 'complete');
  assert.equal(final.body.progress, 100);
  assert.equal(final.body.size, file.length);
  assert.equal(final.body.sha256, sha256(file));
  assert.match(final.body.path, /^files\/[0-9a-f]{32}\/watched\.bin$/);
  assert.equal(final.body.job.state, 'completed');
  perUpload.close();
  all.close();
});

test('an unknown upload is a JSON 404', async () => {
  const response = await status(sys.urls[0]!, 'never-uploaded');
  assert.equal(response.status, 404);
  assert.equal(response.body.error.code, 'not_found');
});

test('without upload tokens, /events streams only the uploads the caller names: nobody can watch or learn the others', async () => {
  const [a, b] = sys.urls as [string, string];
  const anonymous = await fetch(`${b}/events`);
  assert.equal(anonymous.status, 400, 'a stream of every upload needs upload tokens');
  assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'missing_field');

  const mine = await openSse(`${b}/events?id=mine`);
  const file = randomFile(2048);
  await sendChunk(a, file, { number: 1, start: 0, end: 2048 }, { urls: [a], identifier: 'someone-elses', chunkSize: 4096, filename: 'hr-confidential.pdf' });
  await sendChunk(a, file, { number: 1, start: 0, end: 2048 }, { urls: [a], identifier: 'mine', chunkSize: 4096, filename: 'mine.bin' });
  await mine.waitFor((e) => e.data.identifier === 'mine');
  assert.ok(mine.events.every((e) => e.data.identifier === 'mine'), `only the named upload: ${JSON.stringify(mine.events.map((e) => e.data.identifier))}`);
  mine.close();
});
