/**
 * Chunkyard on S3 for a test file: a real Ceph RADOS Gateway with a bucket, and the
 * settings that point the services at it. The AWS SDK reads credentials from the
 * environment (the standard chain), so they go into this process's environment too.
 */
import { startCephRgw, type CephRgw } from './ceph-rgw.js';

export interface S3Target {
  rgw: CephRgw;
  bucket: string;
  /** STORAGE=s3 and every S3_ setting, plus the AWS credentials. */
  env: Record<string, string>;
}

export async function startS3(bucket = 'chunkyard-test'): Promise<S3Target> {
  const rgw = await startCephRgw();
  try {
    await rgw.createBucket(bucket);
  } catch (err) {
    await rgw.stop();
    throw err;
  }
  const env = {
    STORAGE: 's3',
    S3_ENDPOINT: rgw.endpoint,
    S3_REGION: rgw.region,
    S3_BUCKET: bucket,
    S3_PREFIX: 'uploads/',
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: rgw.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
  };
  process.env.AWS_ACCESS_KEY_ID = rgw.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = rgw.secretAccessKey;
  return { rgw, bucket, env };
}
