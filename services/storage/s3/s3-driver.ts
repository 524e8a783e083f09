/**
 * The S3-compatible storage driver (AWS S3, Ceph RGW, MinIO, R2...): no shared disk between
 * hosts. Each stored range is an object of its own (`ranges/<storage key>/...`); a merge
 * builds the published object with one multipart upload (s3-assembly.ts). All a process
 * keeps locally is request bodies in flight (append segments, in DATA_DIR/tmp).
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Assembly, AssemblySpec, RangeWrite, StorageCapabilities, StorageDriver, SweepReport, WrittenPiece } from '../../core/storage-driver.js';
import type { PublishedFile } from '../../core/upload.js';
import { MIN_PART_SIZE, S3Assembly } from './s3-assembly.js';
import { createS3Client, type S3Settings } from './s3-client.js';
import { asStoreUnavailable, isMissing } from './s3-errors.js';
import { S3Keys } from './s3-keys.js';
import { deleteObjects, listObjects, sweepS3 } from './s3-sweep.js';
import { S3Writer } from './s3-writer.js';

export interface S3DriverOptions extends S3Settings {
  /** Where append segments wait for their upload (DATA_DIR/tmp). */
  spoolDir: string;
  /** How long a client's request may last (REQUEST_TIMEOUT_MS): a chunk streams into S3 that long. */
  requestTimeoutMs: number;
  /**
   * S3_TIMEOUT_MS (default 30 s): a request to S3 with no traffic for this long fails, so a
   * store that hangs becomes a 503 for the client within it, not a request that hangs.
   */
  timeoutMs?: number;
}

export class S3Driver implements StorageDriver {
  readonly name = 's3';
  readonly capabilities: StorageCapabilities = {
    writesInPlace: false,
    assemblesWhileReceiving: true,
    serverSideConcat: true,
    minPartSize: MIN_PART_SIZE,
  };
  readonly keys: S3Keys;
  /** For short operations: silent for `timeoutMs`, or 30 s in all (more if `timeoutMs` is longer), and a request fails. */
  readonly client: S3Client;
  /** For a client's body streaming into an object: as long as the client's request may last. */
  private readonly streaming: S3Client;
  private readonly writer: S3Writer;

  constructor(private readonly options: S3DriverOptions) {
    this.keys = new S3Keys(options.prefix);
    const idleMs = options.timeoutMs ?? 30_000;
    this.client = createS3Client(options, { requestMs: Math.max(30_000, idleMs), idleMs });
    this.streaming = createS3Client(options, { requestMs: options.requestTimeoutMs + idleMs, idleMs });
    this.writer = new S3Writer(this.streaming, options.bucket, this.keys, options.spoolDir);
  }

  /** Makes the spool folder, removing segments a killed process left. */
  async init(): Promise<this> {
    await mkdir(this.options.spoolDir, { recursive: true });
    const cutoff = Date.now() - this.options.requestTimeoutMs - 60_000;
    for (const name of await readdir(this.options.spoolDir)) {
      if (!name.endsWith('.segment')) continue;
      const file = path.join(this.options.spoolDir, name);
      if (((await stat(file).catch(() => undefined))?.mtimeMs ?? Infinity) < cutoff) await rm(file, { force: true });
    }
    return this;
  }

  write(request: RangeWrite, body: Readable): Promise<WrittenPiece[]> {
    return this.writer.write(request, body);
  }

  async discard(storageKey: string, pieces: WrittenPiece[]): Promise<void> {
    await deleteObjects(this.client, this.options.bucket, pieces.map((piece) => this.keys.range(storageKey, piece.location))).catch(() => undefined);
  }

  async remove(storageKey: string): Promise<void> {
    try {
      const objects = await listObjects(this.client, this.options.bucket, this.keys.rangesOf(storageKey));
      await deleteObjects(this.client, this.options.bucket, objects.map((object) => object.key));
    } catch (err) {
      // A cancel while the store is away is a passing fault (503, retry), as a write is; a
      // cancel not retried leaves the objects to the sweep.
      throw asStoreUnavailable(err);
    }
  }

  async unpublish(file: PublishedFile): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: file.bucket ?? this.options.bucket, Key: file.location }));
  }

  openAssembly(spec: AssemblySpec): Promise<Assembly> {
    return S3Assembly.open(this.client, this.options.bucket, this.keys, spec);
  }

  sweep(claim: (storageKey: string) => Promise<boolean>, olderThanMs: number): Promise<SweepReport> {
    return sweepS3(this.client, this.options.bucket, this.keys, claim, olderThanMs);
  }

  async ready(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }), { abortSignal: AbortSignal.timeout(3_000) });
    } catch (err) {
      throw new Error(isMissing(err) ? 'bucket not found' : 'object store unreachable');
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.streaming.destroy();
  }
}
