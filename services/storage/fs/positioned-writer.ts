/**
 * A Writable over a file descriptor it does not own: every write lands at the next
 * position (pwrite/pwritev), and destroying the stream never closes the descriptor, so
 * the caller flushes and closes it exactly once, whatever happened to the body. (An
 * fs.WriteStream closes its descriptor when destroyed, even with autoClose off.)
 */
import fs from 'node:fs';
import { Writable } from 'node:stream';

export class PositionedWriter extends Writable {
  /** Bytes that reached the file. */
  bytesWritten = 0;

  constructor(
    private readonly fd: number,
    private position: number,
  ) {
    super({ highWaterMark: 256 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll(chunk, 0, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const buffers = chunks.map((entry) => entry.chunk);
    fs.writev(this.fd, buffers, this.position, (err, written) => {
      if (err) return callback(err);
      this.advance(written);
      // A short write (rare on regular files): write the rest piece by piece.
      const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
      if (written === total) return callback();
      this.writeAll(Buffer.concat(buffers), written, callback);
    });
  }

  private writeAll(buffer: Buffer, from: number, callback: (error?: Error | null) => void): void {
    if (from >= buffer.length) return callback();
    fs.write(this.fd, buffer, from, buffer.length - from, this.position, (err, written) => {
      if (err) return callback(err);
      this.advance(written);
      this.writeAll(buffer, from + written, callback);
    });
  }

  private advance(written: number): void {
    this.position += written;
    this.bytesWritten += written;
  }
}
