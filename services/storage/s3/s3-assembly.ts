/**
 * A merge on S3: one multipart upload builds the published object `files/<upload id>/<name>`.
 * Ranges are taken in order; a range at least a part long, with nothing pending before it,
 * is copied server-side (UploadPartCopy: its bytes never pass through the worker); smaller
 * ones are streamed together into parts of at least the part size. The part size grows with
 * the file so no upload needs more than 10,000 parts. Either way every byte is read once,
 * in order, to compute the SHA-256 of the published bytes (S3 keeps no such digest of a
 * multipart object), so a server-side copy saves the upload of those bytes, not their download.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MissingDataError, type Assembly, type AssemblySpec, type SourceRange } from '../../core/storage-driver.js';
import type { PublishedFile } from '../../core/upload.js';
import { asMergeFailure } from './s3-errors.js';
import type { S3Keys } from './s3-keys.js';

const MiB = 1024 * 1024;
/** S3's smallest part, but for the last. */
export const MIN_PART_SIZE = 5 * MiB;
const MAX_PARTS = 10_000;

/** The part size for a file: at least 5 MiB, and large enough for 10,000 parts to hold it. */
export function partSizeFor(size: number | undefined): number {
  if (size === undefined) return 8 * MiB;
  return Math.max(MIN_PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

interface Reference {
  key: string;
  uploadId: string;
}

export class S3Assembly implements Assembly {
  private readonly hash = createHash('sha256');
  private readonly key: string;
  private readonly partSize: number;
  private readonly parts: { PartNumber: number; ETag: string }[] = [];
  private pending: SourceRange[] = [];
  private pendingBytes = 0;
  private added = 0;
  private multipartId: string | undefined;

  private constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly keys: S3Keys,
    private readonly spec: AssemblySpec,
  ) {
    this.key = keys.published(spec.uploadId, spec.name);
    this.partSize = partSizeFor(spec.size);
  }

  /** Opens an assembly, first aborting what an earlier attempt of this merge left. */
  static async open(client: S3Client, bucket: string, keys: S3Keys, spec: AssemblySpec): Promise<S3Assembly> {
    if (spec.previousAssembly) {
      const previous = JSON.parse(spec.previousAssembly) as Reference;
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: previous.key, UploadId: previous.uploadId })).catch(() => undefined);
    }
    return new S3Assembly(client, bucket, keys, spec);
  }

  get reference(): string | undefined {
    return this.multipartId ? JSON.stringify({ key: this.key, uploadId: this.multipartId } satisfies Reference) : undefined;
  }

  get size(): number {
    return this.added;
  }

  async add(ranges: SourceRange[]): Promise<void> {
    for (const range of ranges) {
      this.spec.signal?.throwIfAborted();
      if (this.pendingBytes === 0 && range.length >= this.partSize) {
        await this.copyPart(range);
      } else {
        this.pending.push(range);
        this.pendingBytes += range.length;
        if (this.pendingBytes >= this.partSize) await this.streamPart();
      }
      this.added += range.length;
    }
  }

  async finish(): Promise<PublishedFile> {
    this.spec.signal?.throwIfAborted();
    if (this.pendingBytes > 0 || (this.pending.length > 0 && this.parts.length === 0)) await this.streamPart();
    if (this.parts.length === 0) {
      // An empty file: no multipart upload can hold zero parts.
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: Buffer.alloc(0), ContentLength: 0, ContentType: this.spec.type || undefined }));
    } else {
      await this.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.bucket, Key: this.key, UploadId: this.multipartId, MultipartUpload: { Parts: this.parts },
      }));
    }
    return { location: this.key, bucket: this.bucket, size: this.added, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    if (!this.multipartId) return;
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.multipartId })).catch(() => undefined);
  }

  private async multipart(): Promise<string> {
    if (!this.multipartId) {
      const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: this.spec.type || undefined }));
      this.multipartId = created.UploadId!;
      await this.spec.onReference?.(this.reference!);
    }
    return this.multipartId;
  }

  /** A large range becomes a part by a server-side copy; its bytes are read for the digest meanwhile. */
  private async copyPart(range: SourceRange): Promise<void> {
    const uploadId = await this.multipart();
    const partNumber = this.parts.length + 1;
    const source = this.keys.range(range.storageKey, range.location);
    const [copied] = await Promise.all([
      this.client.send(new UploadPartCopyCommand({
        Bucket: this.bucket, Key: this.key, UploadId: uploadId, PartNumber: partNumber, CopySource: `${this.bucket}/${encodeURIComponent(source)}`,
      })).catch((err: unknown) => {
        throw asMergeFailure(err, `the range at ${range.offset}`);
      }),
      this.drain(this.readRange(range)),
    ]);
    this.parts.push({ PartNumber: partNumber, ETag: copied.CopyPartResult!.ETag! });
  }

  /** The pending ranges, streamed one after another into one part. */
  private async streamPart(): Promise<void> {
    const uploadId = await this.multipart();
    const partNumber = this.parts.length + 1;
    const ranges = this.pending;
    const length = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    let failure: unknown;
    // A source that fails ends the part's request at once, instead of S3 waiting for its bytes.
    const abort = new AbortController();
    const self = this;
    const body = Readable.from((async function* () {
      try {
        for (const range of ranges) yield* self.readRange(range);
      } catch (err) {
        failure = err;
        abort.abort();
        throw err;
      }
    })());
    // The failure is rethrown below, from the part's request: the stream's own event would go unheard.
    body.on('error', () => undefined);
    try {
      const part = new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: length });
      const uploaded = await this.client.send(part, { abortSignal: abort.signal });
      this.parts.push({ PartNumber: partNumber, ETag: uploaded.ETag! });
    } catch (err) {
      throw failure ?? err;
    }
  }

  /** The bytes of a stored range, hashed as they pass, checked for length. */
  private async *readRange(range: SourceRange): AsyncGenerator<Buffer> {
    const what = `the range at ${range.offset}`;
    let object;
    try {
      object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keys.range(range.storageKey, range.location) }));
    } catch (err) {
      throw asMergeFailure(err, what);
    }
    let read = 0;
    for await (const piece of object.Body as AsyncIterable<Buffer>) {
      this.spec.signal?.throwIfAborted();
      read += piece.length;
      if (read > range.length) throw new MissingDataError(`${what} holds more than its ${range.length} bytes`);
      this.hash.update(piece);
      yield piece;
    }
    if (read !== range.length) throw new MissingDataError(`${what} holds ${read} of its ${range.length} bytes`);
  }

  private async drain(pieces: AsyncGenerator<Buffer>): Promise<void> {
    for await (const piece of pieces) void piece;
  }
}
