/**
 * An S3Client set up the way Chunkyard's S3 code must talk to S3-compatible servers such
 * as Ceph's RADOS Gateway (Pacific/Quincy):
 * - checksums only when an operation requires them: the SDK's default (since 3.729) sends
 *   streaming trailing checksums (aws-chunked bodies without Content-Length), which these
 *   radosgw versions reject with 411 MissingContentLength;
 * - path-style URLs (http://host:port/bucket/key): no wildcard DNS for bucket names;
 * - a deadline on every request: a radosgw whose OSD is full (memstore) or gone does not
 *   fail requests, it leaves them hanging.
 */
import { S3Client } from '@aws-sdk/client-s3';

export interface S3Endpoint {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface S3ClientTimeouts {
  /** TCP connect deadline (default 3 s). */
  connectionTimeoutMs?: number;
  /** Deadline for a whole request until its response headers (default 30 s). */
  requestTimeoutMs?: number;
  /** Deadline for a socket with no traffic, e.g. a response body that stops (default 30 s). */
  socketTimeoutMs?: number;
  /** Attempts per operation, retries included (the SDK's default is 3). */
  maxAttempts?: number;
}

export function createS3Client(target: S3Endpoint, timeouts: S3ClientTimeouts = {}): S3Client {
  return new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: timeouts.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: timeouts.connectionTimeoutMs ?? 3_000,
      requestTimeout: timeouts.requestTimeoutMs ?? 30_000,
      // Without this the SDK only logs a warning when requestTimeout passes, and waits on.
      throwOnRequestTimeout: true,
      socketTimeout: timeouts.socketTimeoutMs ?? 30_000,
    },
  });
}
