/**
 * The real tus-js-client (from npm, its Node build) against Chunkyard's tus endpoint, through
 * nginx over two ingest instances (every request may land on either): files of 0 B, 1 B, an
 * exact multiple of the chunk size and about 30 MiB, with chunkSize set and unset, and with
 * parallelUploads (concatenation). Each published file is checked byte for byte.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tus from 'tus-js-client';
import { startLocalCluster, type LocalCluster } from '../../scripts/local-cluster.js';
import { eventually } from '../helpers/eventually.js';
import { randomFile, sha256 } from '../helpers/upload-client.js';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocalCluster({ ingestCount: 2, env: { LOG_LEVEL: 'warn', TRUST_PROXY: 'true' } });
});
after(() => cluster?.stop());

function upload(file: Buffer, options: Partial<tus.UploadOptions>): Promise<string> {
  return new Promise((resolve, reject) => {
    const transfer = new tus.Upload(file, {
      endpoint: `${cluster.url}/files/`,
      metadata: { filename: 'file.bin', filetype: 'application/octet-stream' },
      retryDelays: [100, 500, 1000, 2000],
      ...options,
      onError: reject,
      onSuccess: () => resolve(transfer.url!),
    });
    transfer.start();
  });
}

async function published(url: string, file: Buffer) {
  const id = url.split('/').pop()!;
  const status = await eventually(async () => (await (await fetch(`${cluster.url}/uploads/${id}`)).json()) as Record<string, string>, {
    accept: (s) => s.state === 'complete' || s.state === 'failed',
    what: `upload ${id} merged`,
  });
  assert.equal(status.state, 'complete', status.error);
  assert.equal(status.sha256, sha256(file));
  assert.ok((await readFile(path.join(cluster.dataDir, status.path!))).equals(file));
}

const MiB = 1024 * 1024;
const cases: [string, number, Partial<tus.UploadOptions>][] = [
  ['0 B', 0, {}],
  ['1 B', 1, {}],
  ['an exact multiple of the chunk size', 4 * MiB, { chunkSize: MiB }],
  ['about 30 MiB in one PATCH (chunkSize unset)', 30 * MiB + 17, {}],
  ['about 30 MiB in 5 MiB PATCHes', 30 * MiB + 17, { chunkSize: 5 * MiB }],
  ['parallelUploads: 3 (concatenation)', 9 * MiB + 5, { parallelUploads: 3 }],
];

for (const [name, size, options] of cases) {
  test(`tus-js-client: ${name}`, async () => {
    const file = randomFile(size);
    await published(await upload(file, options), file);
  });
}
