/**
 * Soak on S3 (a real Ceph RADOS Gateway), the ingests and workers each with a DATA_DIR of
 * their own: the soak of lib/soak.ts, and afterwards the bucket holds one published object
 * per upload and nothing else: no range object (duplicates discarded, merged ranges
 * removed), no incomplete multipart upload.
 * CI size: SOAK_UPLOADS=150 by default; the filesystem soak's size is
 * `SOAK_UPLOADS=1000 node --import tsx --test test/faults/soak-s3.test.ts`, and more is a longer run.
 */
import assert from 'node:assert/strict';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import type { S3Driver } from '../../services/storage/s3/s3-driver.js';
import { listObjects } from '../../services/storage/s3/s3-sweep.js';
import { startS3, type S3Target } from '../helpers/s3-system.js';
import { soak } from './lib/soak.js';

let s3: S3Target | undefined;
soak({
  name: 'S3',
  defaultUploads: 150,
  async start() {
    s3 = await startS3();
    return { env: s3.env, dataDirPerProcess: true };
  },
  async check(sys, uploads) {
    const driver = sys.storage as S3Driver;
    const { bucket } = s3!;
    assert.deepEqual(await listObjects(driver.client, bucket, driver.keys.rangesRoot), [], 'no range object left');
    assert.deepEqual((await driver.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [], [], 'no incomplete multipart upload');
    assert.equal((await listObjects(driver.client, bucket, driver.keys.filesRoot)).length, uploads, 'one published object per upload');
  },
  stop: () => s3?.rgw.stop() ?? Promise.resolve(),
});
