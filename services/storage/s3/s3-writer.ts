/**
 * Stores request bodies as objects. A piece of known length (a chunk) streams straight
 * into one object: nothing touches local disk. An append (tus, FilePond) may break off,
 * and what arrived must be kept; so its body is cut into segments at fixed offsets, each
 * spooled to a local temp file (the request body in flight, the only local state) and
 * uploaded as an object of its own once whole, or once the body ends or breaks off.
 * Segments are large enough (8 MiB) for the merge to copy them server-side.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { UploadError, asBodyError, isUploadError } from '../../core/errors.js';
import { PartialWriteError, type RangeWrite, type WrittenPiece } from '../../core/storage-driver.js';
import { asStoreUnavailable } from './s3-errors.js';
import type { S3Keys } from './s3-keys.js';

export const SEGMENT_SIZE = 8 * 1024 * 1024;

/** Passes bytes through, refusing more than `limit`. */
class Counted extends Transform {
  bytes = 0;
  constructor(private readonly limit: number, private readonly exact: boolean) {
    super();
  }

  override _transform(piece: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += piece.length;
    if (this.bytes > this.limit) {
      return callback(new UploadError(this.exact ? 'range_size_mismatch' : 'range_too_large', `The body is longer than ${this.limit} bytes`));
    }
    callback(null, piece);
  }

  /** A body shorter than its declared length fails here, or S3 would wait for the missing bytes. */
  override _flush(callback: (error?: Error | null) => void): void {
    if (this.exact && this.bytes !== this.limit) return callback(new UploadError('range_size_mismatch', `The body has ${this.bytes} bytes, but ${this.limit} were declared`));
    callback();
  }
}

export class S3Writer {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly keys: S3Keys,
    private readonly spoolDir: string,
  ) {}

  async write(request: RangeWrite, body: Readable): Promise<WrittenPiece[]> {
    if (!request.keepPartial && request.length !== undefined) return [await this.putExact(request, request.length, body)];
    return this.putSegments(request, body);
  }

  private async putExact(request: RangeWrite, length: number, body: Readable): Promise<WrittenPiece> {
    const location = this.keys.newRange(request.offset);
    const counted = new Counted(Math.min(length, request.maxLength), true);
    // A body found wrong (too short, too long, broken off) ends the request to S3 at once;
    // otherwise S3 would wait for the bytes the declared length promised until a timeout.
    const abort = new AbortController();
    let bodyFailed: unknown;
    body.once('error', (err) => {
      bodyFailed = err;
      counted.destroy(asBodyError(err));
    });
    counted.once('error', () => {
      body.unpipe(counted);
      abort.abort();
    });
    body.pipe(counted);
    try {
      const command = new PutObjectCommand({ Bucket: this.bucket, Key: this.keys.range(request.storageKey, location), Body: counted, ContentLength: length });
      await this.client.send(command, { abortSignal: abort.signal });
    } catch (err) {
      // The body goes nowhere now: unhooked from a stream nobody reads any more, so the
      // endpoint can drain what the client still sends (else its connection hangs).
      body.unpipe(counted);
      if (isUploadError(counted.errored)) throw counted.errored;
      if (bodyFailed !== undefined) throw asBodyError(bodyFailed);
      if (counted.bytes < length && body.readableEnded) {
        throw new UploadError('range_size_mismatch', `The body has ${counted.bytes} bytes, but ${length} were declared`);
      }
      throw asStoreUnavailable(err);
    }
    if (counted.bytes !== length) throw new UploadError('range_size_mismatch', `The body has ${counted.bytes} bytes, but ${length} were declared`);
    return { offset: request.offset, length, location };
  }

  /** Cuts the body into segments at multiples of SEGMENT_SIZE, each uploaded once whole. */
  private async putSegments(request: RangeWrite, body: Readable): Promise<WrittenPiece[]> {
    const limit = Math.min(request.length ?? request.maxLength, request.maxLength);
    const done: WrittenPiece[] = [];
    let reported = 0;
    let received = 0;
    let segment: Spool | undefined;
    const flush = async () => {
      if (!segment || segment.length === 0) return;
      const piece = await this.upload(request.storageKey, segment);
      segment = undefined;
      done.push(piece);
      if (request.onCheckpoint && request.checkpointBytes !== undefined) {
        await request.onCheckpoint(done.slice(reported));
        reported = done.length;
      }
    };
    try {
      try {
        let position = request.offset;
        for await (const data of body as AsyncIterable<Buffer>) {
          received += data.length;
          if (received > limit) throw new UploadError(request.length === undefined ? 'range_too_large' : 'range_size_mismatch', `The body is longer than ${limit} bytes`);
          let piece = data;
          while (piece.length > 0) {
            segment ??= await Spool.open(this.spoolDir, position);
            const segmentEnd = (Math.floor(segment.offset / SEGMENT_SIZE) + 1) * SEGMENT_SIZE;
            const take = piece.subarray(0, segmentEnd - (segment.offset + segment.length));
            await segment.append(take);
            position += take.length;
            piece = piece.subarray(take.length);
            if (segment.offset + segment.length === segmentEnd) await flush();
          }
        }
      } catch (err) {
        if (isUploadError(err, 'range_too_large', 'range_size_mismatch') || !request.keepPartial) throw isUploadError(err) ? err : asBodyError(err);
        // What arrived before the body broke off is kept: the client resumes after it.
        await flush();
        throw new PartialWriteError(done.slice(reported), { cause: err });
      }
      if (request.length !== undefined && received !== request.length) {
        throw new UploadError('range_size_mismatch', `The body has ${received} bytes, but ${request.length} were declared`);
      }
      await flush();
      if (done.length === 0) done.push(await this.emptyPiece(request));
      return done.slice(reported);
    } finally {
      await segment?.discard();
    }
  }

  /** An empty body still makes a range (the whole of an empty file). */
  private async emptyPiece(request: RangeWrite): Promise<WrittenPiece> {
    const location = this.keys.newRange(request.offset);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.keys.range(request.storageKey, location), Body: Buffer.alloc(0), ContentLength: 0 }));
    } catch (err) {
      throw asStoreUnavailable(err);
    }
    return { offset: request.offset, length: 0, location };
  }

  private async upload(storageKey: string, segment: Spool): Promise<WrittenPiece> {
    await segment.close();
    const location = this.keys.newRange(segment.offset);
    try {
      await this.client.send(new PutObjectCommand({
        Bucket: this.bucket, Key: this.keys.range(storageKey, location), Body: createReadStream(segment.path), ContentLength: segment.length,
      }));
    } catch (err) {
      throw asStoreUnavailable(err);
    } finally {
      await segment.discard();
    }
    return { offset: segment.offset, length: segment.length, location };
  }
}

/** Bytes of one segment on their way to the object store, in a local temp file. */
class Spool {
  length = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    readonly offset: number,
    private readonly file: FileHandle,
  ) {}

  static async open(dir: string, offset: number): Promise<Spool> {
    const file = path.join(dir, `${randomBytes(12).toString('hex')}.segment`);
    return new Spool(file, offset, await open(file, 'wx'));
  }

  async append(piece: Buffer): Promise<void> {
    await this.file.write(piece, 0, piece.length, this.length);
    this.length += piece.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }

  async discard(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}
