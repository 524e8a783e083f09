/**
 * A Writable over a file descriptor it does not own: every write lands at the next
 * position (pwritev), and destroying the stream never closes the descriptor, so the caller
 * flushes and closes it exactly once, whatever happened to the body. (An fs.WriteStream
 * closes its descriptor when destroyed, even with autoClose off.)
 *
 * A request body arrives in socket reads of up to 64 KiB, and each write to the file is a
 * round trip through libuv's thread pool. The pieces are gathered and written together
 * (one write per 1 MiB chunk) within the process's gather budget (gather-budget.ts), or
 * when the body ends. Only bytes written count (`bytesWritten`); what was still gathered
 * when the stream is destroyed never reached the file and is not counted.
 */
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { processGatherBudget, type GatherBudget } from './gather-budget.js';

type Callback = (error?: Error | null) => void;

export class PositionedWriter extends Writable {
  /** Bytes that reached the file. */
  bytesWritten = 0;
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private writing = false;
  /** Called once the write in flight is done (see _destroy). */
  private whenWritten: (() => void) | undefined;

  constructor(
    private readonly fd: number,
    private position: number,
    private readonly budget: GatherBudget = processGatherBudget,
  ) {
    // While a write is in flight, one more socket read waits here before the body is paused.
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

  override _destroy(error: Error | null, callback: Callback): void {
    // Gathered pieces that will never be written no longer count against the budget.
    this.budget.give(this.gatheredBytes);
    this.gathered = [];
    this.gatheredBytes = 0;
    // The stream is not over ('error', 'close') while a write is in flight: its owner closes
    // the descriptor then, and a write still queued in the thread pool would land in
    // whatever file the next open() gets under the same number.
    if (!this.writing) return callback(error);
    this.whenWritten = () => callback(error);
  }

  private gather(buffers: Buffer[], callback: Callback): void {
    for (const buffer of buffers) {
      this.gathered.push(buffer);
      this.gatheredBytes += buffer.length;
      this.budget.take(buffer.length);
    }
    if (!this.budget.full(this.gatheredBytes, this.gathered.length)) return callback();
    this.flush(callback);
  }

  private flush(callback: Callback): void {
    const buffers = this.gathered;
    const bytes = this.gatheredBytes;
    this.gathered = [];
    this.gatheredBytes = 0;
    this.writing = true;
    this.writeAll(buffers, (err) => {
      this.writing = false;
      // Written or failed, these bytes are no longer held for the file.
      this.budget.give(bytes);
      const whenWritten = this.whenWritten;
      this.whenWritten = undefined;
      whenWritten?.();
      callback(err);
    });
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
