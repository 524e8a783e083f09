/**
 * Writes a request body straight into an upload's data file at its offset: each byte is
 * written once, and the merge later only hashes and renames the file. A range counts only
 * once it is durable: its data flushed (fdatasync, with CHUNK_FSYNC) and the data file's
 * name flushed into its folder (once per file per process: DurableNames).
 */
import fs, { constants } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { UploadError } from '../../core/errors.js';
import { PartialWriteError, type RangeWrite, type WrittenPiece } from '../../core/storage-driver.js';
import { fsyncDirectory, type DurableNames } from './durability.js';

const openFile = promisify(fs.open);
const closeFile = promisify(fs.close);
const fdatasync = promisify(fs.fdatasync);
const fstat = promisify(fs.fstat);

// Never through a link planted where a data file should be; created when missing, never truncated.
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW;

export async function writeRangeToFile(filePath: string, request: RangeWrite, body: Readable, names: DurableNames): Promise<WrittenPiece[]> {
  const fd = await openFile(filePath, WRITE_FLAGS, 0o640);
  try {
    return await writeAt(fd, filePath, request, body, names);
  } finally {
    await closeFile(fd);
  }
}

async function makeDurable(fd: number, filePath: string, request: RangeWrite, names: DurableNames): Promise<void> {
  if (!request.durable) return;
  await fdatasync(fd);
  const { ino } = await fstat(fd);
  if (names.has(filePath, ino)) return;
  await fsyncDirectory(path.dirname(filePath));
  names.add(filePath, ino);
}

async function writeAt(fd: number, filePath: string, request: RangeWrite, body: Readable, names: DurableNames): Promise<WrittenPiece[]> {
  const file = fs.createWriteStream('', { fd, start: request.offset, autoClose: false });
  const limit = Math.min(request.length ?? request.maxLength, request.maxLength);
  let received = 0;
  let reported = 0;
  let checkpointing: Promise<void> = Promise.resolve();
  let nextCheckpoint = request.checkpointBytes ?? Number.POSITIVE_INFINITY;

  /** Flushes what is written so far and hands it to the caller, while the body streams on. */
  const checkpoint = () => {
    const upTo = file.bytesWritten;
    nextCheckpoint = upTo + request.checkpointBytes!;
    checkpointing = checkpointing
      .then(async () => {
        if (upTo <= reported) return;
        await makeDurable(fd, filePath, request, names);
        const piece = { offset: request.offset + reported, length: upTo - reported, location: '' };
        reported = upTo;
        await request.onCheckpoint!([piece]);
      })
      .catch((err: unknown) => {
        file.destroy(err instanceof Error ? err : new Error(String(err)));
        throw err;
      });
    checkpointing.catch(() => undefined);
  };
  const countBytes = (piece: Buffer) => {
    received += piece.length;
    if (received > limit) {
      file.destroy(new UploadError(request.length === undefined ? 'range_too_large' : 'range_size_mismatch',
        `The body is longer than ${limit} bytes`));
    } else if (file.bytesWritten >= nextCheckpoint) checkpoint();
  };
  body.on('data', countBytes);
  // A client that goes away mid-body ends the request without 'end': the file must not wait for it.
  const bodyEnded = finished(body, { writable: false }).catch((err: unknown) => {
    file.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  body.pipe(file);
  try {
    await finished(file);
    await bodyEnded;
    await checkpointing;
  } catch (err) {
    body.unpipe(file);
    if (!request.keepPartial || err instanceof UploadError) throw err;
    await checkpointing.catch(() => undefined);
    // What did reach the file stays, once durable: the client resumes after it.
    const kept = file.bytesWritten - reported;
    if (kept <= 0) throw new PartialWriteError([], { cause: err });
    await makeDurable(fd, filePath, request, names);
    throw new PartialWriteError([{ offset: request.offset + reported, length: kept, location: '' }], { cause: err });
  } finally {
    body.off('data', countBytes);
  }
  if (request.length !== undefined && received !== request.length) {
    throw new UploadError('range_size_mismatch', `The body has ${received} bytes, but ${request.length} were declared`);
  }
  await makeDurable(fd, filePath, request, names);
  const rest = file.bytesWritten - reported;
  return rest > 0 || received === 0 ? [{ offset: request.offset + reported, length: rest, location: '' }] : [];
}
