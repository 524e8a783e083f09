/**
 * S3 clients set up for S3-compatible servers (AWS S3, Ceph RGW, MinIO, R2...):
 * - checksums only where an operation requires them: the SDK's default streaming trailing
 *   checksums (bodies without Content-Length) are refused by radosgw (411);
 * - path-style URLs when asked (S3_FORCE_PATH_STYLE), for servers without wildcard DNS;
 * - a deadline on every request: a store that stops answering must become a 503 for the
 *   client, not a request that hangs. Streaming writes (a client's chunk body flows straight
 *   into an object) get a request deadline as long as a client request may last.
 * Credentials come from the standard AWS chain (environment, profile, instance role).
 */
import { S3Client } from '@aws-sdk/client-s3';

export interface S3Settings {
  /** S3_ENDPOINT: empty for AWS itself. */
  endpoint: string;
  region: string;
  bucket: string;
  /** S3_PREFIX: every key Chunkyard writes starts with it (`uploads/`, or empty). */
  prefix: string;
  forcePathStyle: boolean;
}

export interface S3Deadlines {
  /** A whole request, until its response headers. */
  requestMs: number;
  /** A socket with no traffic. */
  idleMs: number;
}

export function createS3Client(settings: S3Settings, deadlines: S3Deadlines): S3Client {
  return new S3Client({
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: {
      connectionTimeout: 3_000,
      requestTimeout: deadlines.requestMs,
      // Without it the SDK only warns when the request deadline passes, and waits on.
      throwOnRequestTimeout: true,
      socketTimeout: deadlines.idleMs,
    },
  });
}
