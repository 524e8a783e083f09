/**
 * The S3 driver against the conformance suite, on a real Ceph RADOS Gateway (never a fake:
 * fakes accept parts under 5 MiB and lack UploadPartCopy, hiding exactly what matters),
 * plus what only S3 has: server-side copies of large ranges, multipart uploads left by a
 * crashed merge and their sweep, and the part size limits.
 */
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { partSizeFor } from '../../services/storage/s3/s3-assembly.js';
import { S3Driver } from '../../services/storage/s3/s3-driver.js';
import { startCephRgw, type CephRgw } from '../helpers/ceph-rgw.js';
import { driverConformance } from './driver-conformance.js';

let rgw: CephRgw;
let admin: S3Client;
let buckets = 0;

before(async () => {
  rgw = await startCephRgw();
  admin = rgw.client();
  console.log(`ceph rgw: up in ${Math.round(rgw.startupMs)} ms`);
});
after(() => rgw?.stop());

async function driverIn(bucket: string): Promise<{ driver: S3Driver; spool: string }> {
  await rgw.createBucket(bucket);
  process.env.AWS_ACCESS_KEY_ID = rgw.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = rgw.secretAccessKey;
  const spool = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-s3-spool-'));
  const driver = await new S3Driver({
    endpoint: rgw.endpoint, region: rgw.region, bucket, prefix: 'uploads/', forcePathStyle: true, spoolDir: spool, requestTimeoutMs: 30_000,
  }).init();
  return { driver, spool };
}

async function read(bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const object = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  } catch {
    return undefined;
  }
}

driverConformance('S3 (Ceph RADOS Gateway)', async () => {
  const bucket = `conformance-${buckets++}`;
  const { driver, spool } = await driverIn(bucket);
  return {
    driver,
    readPublished: (file) => read(file.bucket ?? bucket, file.location),
    stop: async () => {
      await driver.close();
      await rm(spool, { recursive: true, force: true });
    },
  };
});

describe('S3 specifics', () => {
  test('the part size grows with the file, so no upload needs more than 10,000 parts', () => {
    assert.equal(partSizeFor(1024), 5 * 1024 * 1024);
    assert.equal(partSizeFor(10 * 1024 ** 3), 5 * 1024 * 1024);
    assert.ok(100 * 1024 ** 3 / partSizeFor(100 * 1024 ** 3) <= 10_000);
    assert.ok(5 * 1024 ** 4 / partSizeFor(5 * 1024 ** 4) <= 10_000);
  });

  test('1 MiB pieces out of order (resumable.js defaults) and 8 MiB appended segments merge byte for byte; large ranges are copied server-side', async () => {
    const bucket = `specifics-${buckets++}`;
    const { driver, spool } = await driverIn(bucket);
    try {
      const file = randomBytes(20 * 1024 * 1024 + 17);
      const pieces = [];
      for (const index of [3, 0, 19, 7, 1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20]) {
        const start = index * 1024 * 1024;
        const bytes = file.subarray(start, Math.min(start + 1024 * 1024, file.length));
        pieces.push(...(await driver.write({ storageKey: 'a'.repeat(32), offset: start, length: bytes.length, maxLength: 2 ** 30, keepPartial: false, durable: true }, Readable.from([bytes]))));
      }
      pieces.sort((x, y) => x.offset - y.offset);
      const assembly = await driver.openAssembly({ uploadId: 'b'.repeat(32), storageKey: 'a'.repeat(32), name: 'small-pieces.bin', type: '', size: file.length });
      await assembly.add(pieces.map((p) => ({ ...p, storageKey: 'a'.repeat(32) })));
      const result = await assembly.finish();
      assert.equal(result.sha256, createHash('sha256').update(file).digest('hex'));
      assert.ok((await read(bucket, result.location))?.equals(file));

      // An append: its body is cut into 8 MiB segments, each large enough to copy as a part.
      const appended = await driver.write({ storageKey: 'c'.repeat(32), offset: 0, maxLength: 2 ** 30, keepPartial: true, durable: true }, Readable.from([file]));
      assert.deepEqual(appended.map((p) => p.length), [8 * 1024 * 1024, 8 * 1024 * 1024, file.length - 16 * 1024 * 1024]);
      const copying = await driver.openAssembly({ uploadId: 'd'.repeat(32), storageKey: 'c'.repeat(32), name: 'segments.bin', type: '', size: file.length });
      await copying.add(appended.map((p) => ({ ...p, storageKey: 'c'.repeat(32) })));
      const copied = await copying.finish();
      assert.equal(copied.sha256, result.sha256);
      assert.ok((await read(bucket, copied.location))?.equals(file));
    } finally {
      await driver.close();
      await rm(spool, { recursive: true, force: true });
    }
  });

  test('a merge that crashed leaves a multipart upload; the next attempt and the sweep abort it', async () => {
    const bucket = `crashed-${buckets++}`;
    const { driver, spool } = await driverIn(bucket);
    try {
      const file = randomBytes(12 * 1024 * 1024);
      const appended = await driver.write({ storageKey: 'e'.repeat(32), offset: 0, maxLength: 2 ** 30, keepPartial: true, durable: true }, Readable.from([file]));
      const crashed = await driver.openAssembly({ uploadId: 'f'.repeat(32), storageKey: 'e'.repeat(32), name: 'x.bin', type: '', size: file.length });
      await crashed.add(appended.slice(0, 1).map((p) => ({ ...p, storageKey: 'e'.repeat(32) })));
      const reference = crashed.reference!;
      assert.ok(reference, 'the attempt noted its multipart upload');
      const listed = async () => (await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
      assert.equal((await listed()).length, 1);

      // The rerun aborts what the crashed attempt left before it starts its own.
      const rerun = await driver.openAssembly({ uploadId: 'f'.repeat(32), storageKey: 'e'.repeat(32), name: 'x.bin', type: '', size: file.length, previousAssembly: reference });
      assert.equal((await listed()).length, 0);
      await rerun.add(appended.map((p) => ({ ...p, storageKey: 'e'.repeat(32) })));
      await rerun.finish();

      // One left by a crash with nobody to rerun it: the sweep aborts it once idle.
      const orphan = await driver.openAssembly({ uploadId: '1'.repeat(32), storageKey: 'e'.repeat(32), name: 'y.bin', type: '', size: file.length });
      await orphan.add(appended.slice(0, 1).map((p) => ({ ...p, storageKey: 'e'.repeat(32) })));
      assert.equal((await listed()).length, 1);
      const report = await driver.sweep(async () => false, -60_000);
      assert.equal(report.assemblies, 1);
      assert.equal((await listed()).length, 0);
    } finally {
      await driver.close();
      await rm(spool, { recursive: true, force: true });
    }
  });
});
