/**
 * A Writable over a file descriptor it does not own: every write lands at the next
 * position (pwritev), and destroying the stream never closes the descriptor, so the caller
 * flushes and closes it exactly once, whatever happened to the body. (An fs.WriteStream
 * closes its descriptor when destroyed, even with autoClose off.)
 *
 * A request body arrives in socket reads of up to 64 KiB, and each write to the file is a
 * round trip through libuv's thread pool. The pieces are gathered and written together
 * once GATHER_BYTES have arrived, or when the body ends: four writes per MiB instead of
 * sixteen. Only bytes written count (`bytesWritten`); what was still gathered when the
 * stream is destroyed never reached the file and is not counted.
 */
import fs from 'node:fs';
import { Writable } from 'node:stream';

const GATHER_BYTES = 256 * 1024;

type Callback = (error?: Error | null) => void;

export class PositionedWriter extends Writable {
  /** Bytes that reached the file. */
  bytesWritten = 0;
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;

  constructor(
    private readonly fd: number,
    private position: number,
  ) {
    // With what is gathered, at most GATHER_BYTES + 64 KiB are held before the body is paused.
    super({ highWaterMark: 64 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.gather([chunk], callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: Callback): void {
    this.gather(chunks.map((entry) => entry.chunk), callback);
  }

  override _final(callback: Callback): void {
    this.flush(callback);
  }

  private gather(buffers: Buffer[], callback: Callback): void {
    for (const buffer of buffers) {
      this.gathered.push(buffer);
      this.gatheredBytes += buffer.length;
    }
    if (this.gatheredBytes < GATHER_BYTES) return callback();
    this.flush(callback);
  }

  private flush(callback: Callback): void {
    const buffers = this.gathered;
    this.gathered = [];
    this.gatheredBytes = 0;
    this.writeAll(buffers, callback);
  }

  private writeAll(buffers: Buffer[], callback: Callback): void {
    const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    if (total === 0) return callback();
    fs.writev(this.fd, buffers, this.position, (err, written) => {
      if (err) return callback(err);
      this.position += written;
      this.bytesWritten += written;
      // A short write (rare on regular files): write the rest.
      if (written === total) return callback();
      this.writeAll([Buffer.concat(buffers).subarray(written)], callback);
    });
  }
}
