/**
 * S3's part of the sweep: the range objects of uploads no live upload owns (expired,
 * cancelled, refused), once untouched for long enough, and multipart uploads that crashed
 * or aborted merges left behind (nothing added to them for as long): S3 keeps and bills
 * their parts until they are aborted.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { STORAGE_KEY_PATTERN } from '../../core/keys.js';
import type { SweepReport } from '../../core/storage-driver.js';
import type { S3Keys } from './s3-keys.js';

interface Listed {
  key: string;
  size: number;
  modified: number;
}

export async function listObjects(client: S3Client, bucket: string, prefix: string): Promise<Listed[]> {
  const found: Listed[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) found.push({ key: object.Key!, size: object.Size ?? 0, modified: object.LastModified?.getTime() ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}

export async function deleteObjects(client: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
  }
}

async function storageKeysWithRanges(client: S3Client, bucket: string, keys: S3Keys): Promise<string[]> {
  const found: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keys.rangesRoot, Delimiter: '/', ContinuationToken: token }));
    for (const prefix of page.CommonPrefixes ?? []) found.push(prefix.Prefix!.slice(keys.rangesRoot.length, -1));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found.filter((key) => STORAGE_KEY_PATTERN.test(key));
}

export async function sweepS3(
  client: S3Client,
  bucket: string,
  keys: S3Keys,
  claim: (storageKey: string) => Promise<boolean>,
  olderThanMs: number,
  now = Date.now(),
): Promise<SweepReport> {
  const report: SweepReport = { uploads: 0, assemblies: 0, bytes: 0 };
  const cutoff = now - olderThanMs;
  for (const storageKey of await storageKeysWithRanges(client, bucket, keys)) {
    const objects = await listObjects(client, bucket, keys.rangesOf(storageKey));
    if (objects.length === 0 || Math.max(...objects.map((o) => o.modified)) > cutoff || !(await claim(storageKey))) continue;
    await deleteObjects(client, bucket, objects.map((o) => o.key));
    report.uploads += 1;
    report.bytes += objects.reduce((sum, o) => sum + o.size, 0);
  }
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: keys.filesRoot, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    for (const upload of page.Uploads ?? []) {
      if ((upload.Initiated?.getTime() ?? 0) > cutoff) continue;
      const parts = await client.send(new ListPartsCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
      const lastAdded = Math.max(upload.Initiated?.getTime() ?? 0, ...(parts.Parts ?? []).map((part) => part.LastModified?.getTime() ?? 0));
      if (lastAdded > cutoff) continue;
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
      report.assemblies += 1;
      report.bytes += (parts.Parts ?? []).reduce((sum, part) => sum + (part.Size ?? 0), 0);
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (keyMarker);
  return report;
}
