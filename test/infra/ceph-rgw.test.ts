/**
 * The throwaway Ceph RADOS Gateway (test/helpers/ceph-rgw.ts) behaves as the S3 storage
 * driver will rely on: ranges, multipart uploads with the 5 MiB minimum part, part copies
 * from a range of another object, listing and aborting unfinished uploads, batch deletes;
 * a full OSD hangs writes, so every request needs a deadline. And `stop()` leaves nothing
 * behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startCephRgw, type CephRgw } from '../helpers/ceph-rgw.js';

const MiB = 1024 * 1024;
const BUCKET = 'chunkyard-infra';
let ceph: CephRgw;
let s3: S3Client;

before(async () => {
  ceph = await startCephRgw();
  console.log(`ceph (mon + memstore osd + radosgw) started in ${(ceph.startupMs / 1000).toFixed(1)} s at ${ceph.endpoint}`);
  s3 = ceph.client();
  await ceph.createBucket(BUCKET);
});
after(() => ceph?.stop());

async function getBytes(key: string, range?: string): Promise<{ body: Buffer; status: number | undefined; contentRange: string | undefined }> {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
  return { body: Buffer.from(await got.Body!.transformToByteArray()), status: got.$metadata.httpStatusCode, contentRange: got.ContentRange };
}

async function uploadParts(key: string, parts: Buffer[]): Promise<{ uploadId: string; completed: CompletedPart[] }> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  assert.ok(UploadId);
  const completed: CompletedPart[] = [];
  for (const [index, body] of parts.entries()) {
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: index + 1, Body: body }));
    assert.ok(ETag, `part ${index + 1} has an ETag`);
    completed.push({ PartNumber: index + 1, ETag });
  }
  return { uploadId: UploadId, completed };
}

function complete(key: string, uploadId: string, parts: CompletedPart[]) {
  return s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
}

test('PutObject, then GetObject of the whole object and of a byte range', async () => {
  const data = randomBytes(100_000);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'plain.bin', Body: data }));

  const whole = await getBytes('plain.bin');
  assert.ok(whole.body.equals(data));
  const part = await getBytes('plain.bin', 'bytes=1000-1999');
  assert.equal(part.status, 206);
  assert.equal(part.contentRange, `bytes 1000-1999/${data.length}`);
  assert.ok(part.body.equals(data.subarray(1000, 2000)));
  const tail = await getBytes('plain.bin', 'bytes=99990-');
  assert.ok(tail.body.equals(data.subarray(99_990)));
});

test('a multipart upload of a 5 MiB part and a smaller last part completes to the same bytes', async () => {
  const parts = [randomBytes(5 * MiB), randomBytes(123_457)];
  const { uploadId, completed } = await uploadParts('multi.bin', parts);
  await complete('multi.bin', uploadId, completed);
  // Not the ETag CompleteMultipartUpload answers with: radosgw 16.2 sends <ETag></ETag> there.
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'multi.bin' }));
  assert.match(head.ETag ?? '', /^"[0-9a-f]{32}-2"$/, 'a multipart ETag names its part count');
  assert.equal(head.ContentLength, 5 * MiB + 123_457);

  const got = await getBytes('multi.bin');
  assert.equal(got.body.length, 5 * MiB + 123_457);
  assert.ok(got.body.equals(Buffer.concat(parts)));
});

test('a part under 5 MiB that is not the last makes CompleteMultipartUpload fail with EntityTooSmall', async () => {
  const { uploadId, completed } = await uploadParts('too-small.bin', [randomBytes(MiB), randomBytes(MiB)]);
  await assert.rejects(complete('too-small.bin', uploadId, completed), (err: Error) => {
    assert.equal(err.name, 'EntityTooSmall');
    return true;
  });
  // The upload is still there, unfinished: the driver must abort it.
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'too-small.bin' }));
  assert.deepEqual(listed.Uploads?.map((u) => u.UploadId), [uploadId]);
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'too-small.bin', UploadId: uploadId }));
});

test('UploadPartCopy copies a byte range of an existing object into a part', async () => {
  const source = randomBytes(6 * MiB + 11);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy-source.bin', Body: source }));

  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'copied.bin' }));
  const copied = await s3.send(new UploadPartCopyCommand({
    Bucket: BUCKET, Key: 'copied.bin', UploadId, PartNumber: 1,
    CopySource: `${BUCKET}/copy-source.bin`, CopySourceRange: `bytes=${MiB}-${6 * MiB - 1}`,
  }));
  assert.ok(copied.CopyPartResult?.ETag);
  const last = randomBytes(999);
  const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'copied.bin', UploadId, PartNumber: 2, Body: last }));
  await complete('copied.bin', UploadId!, [{ PartNumber: 1, ETag: copied.CopyPartResult.ETag }, { PartNumber: 2, ETag }]);

  const got = await getBytes('copied.bin');
  assert.ok(got.body.equals(Buffer.concat([source.subarray(MiB, 6 * MiB), last])), 'the copied range, then the uploaded part');
});

test('ListParts lists the parts of an unfinished upload; ListMultipartUploads shows it until AbortMultipartUpload', async () => {
  const parts = [randomBytes(5 * MiB), randomBytes(4321)];
  const { uploadId, completed } = await uploadParts('unfinished.bin', parts);

  const listedParts = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'unfinished.bin', UploadId: uploadId }));
  assert.deepEqual(
    listedParts.Parts?.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag, Size: p.Size })),
    completed.map((p, i) => ({ PartNumber: p.PartNumber, ETag: p.ETag, Size: parts[i]!.length })),
  );

  const before = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  assert.ok(before.Uploads?.some((u) => u.Key === 'unfinished.bin' && u.UploadId === uploadId), 'listed while unfinished');

  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'unfinished.bin', UploadId: uploadId }));
  const afterAbort = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  assert.ok(!afterAbort.Uploads?.some((u) => u.UploadId === uploadId), 'gone once aborted');
  // S3 answers NoSuchUpload here; radosgw 16.2 answers NoSuchKey. Both are a 404.
  await assert.rejects(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'unfinished.bin', UploadId: uploadId })), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(err.$metadata?.httpStatusCode, 404, `${err.name} is a 404`);
    return true;
  });
  await assert.rejects(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'unfinished.bin', UploadId: uploadId, PartNumber: 3, Body: 'late' })), { name: 'NoSuchUpload' });
});

test('DeleteObjects deletes several keys in one request', async () => {
  const keys = ['del/a', 'del/b', 'del/c'];
  for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'del/' }));
  assert.deepEqual(listed.Contents?.map((o) => o.Key), keys);

  const deleted = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  assert.deepEqual(deleted.Deleted?.map((d) => d.Key).sort(), keys);
  assert.equal(deleted.Errors?.length ?? 0, 0);
  const left = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'del/' }));
  assert.equal(left.KeyCount, 0);
});

test("a full memstore OSD leaves writes hanging; the client's request deadline turns that into a TimeoutError", { timeout: 120_000 }, async () => {
  const memBytes = 64 * MiB;
  const small = await startCephRgw({ memBytes });
  try {
    await small.createBucket('fills-up');
    const client = small.client({ requestTimeoutMs: 3_000, maxAttempts: 1 });
    let written = 0;
    let failure: Error | undefined;
    // The OSD flags itself full at 95 % only after its next stats report, so writes overshoot.
    while (!failure && written < 4 * memBytes) {
      try {
        await client.send(new PutObjectCommand({ Bucket: 'fills-up', Key: `k${written}`, Body: randomBytes(4 * MiB) }));
        written += 4 * MiB;
      } catch (err) {
        failure = err as Error;
      }
    }
    console.log(`memstore of ${memBytes / MiB} MiB: ${written / MiB} MiB written before a write hung`);
    assert.equal(failure?.name, 'TimeoutError', `a write hung and timed out: ${failure?.message}`);
    // Full means 95 % used, counting radosgw's own objects too: most of memBytes was written.
    assert.ok(written >= 0.75 * memBytes, `it hung because the OSD was full, not because it was slow (${written} bytes written)`);
    const read = await small.client({ requestTimeoutMs: 3_000 }).send(new GetObjectCommand({ Bucket: 'fills-up', Key: 'k0', Range: 'bytes=0-9' }));
    assert.equal((await read.Body!.transformToByteArray()).length, 10, 'reads still work');
  } finally {
    await small.stop();
  }
});

test('stop() kills its daemons and removes its folder', async () => {
  const pids = ceph.pids();
  assert.equal(pids.length, 3, 'mon, osd and radosgw');
  await ceph.stop();
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
  await assert.rejects(access(ceph.dir), { code: 'ENOENT' });
});
