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
import { UploadError, asBodyError, isUploadError } from '../../core/errors.js';
import { PartialWriteError, type RangeWrite, type WrittenPiece } from '../../core/storage-driver.js';
import { fsyncDirectory, type DurableNames } from './durability.js';
import { PositionedWriter } from './positioned-writer.js';

const openFile = promisify(fs.open);
const closeFile = promisify(fs.close);
// Looked up at each call, not bound at load: a test slows it down to see who waits for it.
const fdatasync = (fd: number) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
const fstat = (fd: number) => new Promise<fs.BigIntStats>((resolve, reject) => fs.fstat(fd, { bigint: true }, (err, stats) => (err ? reject(err) : resolve(stats))));

// Never through a link planted where a data file should be; created when missing, never truncated.
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW;

export async function writeRangeToFile(filePath: string, request: RangeWrite, body: Readable, names: DurableNames): Promise<WrittenPiece[]> {
  const fd = await openFile(filePath, WRITE_FLAGS, 0o640);
  try {
    const { ino, birthtimeNs } = await fstat(fd);
    const file: DataFile = { fd, path: filePath, inode: Number(ino), identity: `${ino}:${birthtimeNs}` };
    return await writeAt(file, request, body, names);
  } finally {
    await closeFile(fd);
  }
}

interface DataFile {
  fd: number;
  path: string;
  inode: number;
  /** Inode and birth time: a file removed and created again is another file, even on a reused inode. */
  identity: string;
}

async function makeDurable(file: DataFile, request: RangeWrite, names: DurableNames): Promise<void> {
  if (!request.durable) return;
  await fdatasync(file.fd);
  if (names.has(file.path, file.inode)) return;
  await fsyncDirectory(path.dirname(file.path));
  names.add(file.path, file.inode);
}

async function writeAt(data: DataFile, request: RangeWrite, body: Readable, names: DurableNames): Promise<WrittenPiece[]> {
  const { fd } = data;
  const piece = (offset: number, length: number): WrittenPiece => ({ offset, length, location: '', object: data.identity });
  const file = new PositionedWriter(fd, request.offset);
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
        await makeDurable(data, request, names);
        const checkpointed = piece(request.offset + reported, upTo - reported);
        reported = upTo;
        await request.onCheckpoint!([checkpointed]);
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
    file.destroy(asBodyError(err));
  });
  body.pipe(file);
  try {
    await finished(file);
    await bodyEnded;
    await checkpointing;
  } catch (err) {
    body.unpipe(file);
    if (!request.keepPartial || isUploadError(err, 'range_too_large', 'range_size_mismatch')) throw asBodyError(err);
    await checkpointing.catch(() => undefined);
    // What did reach the file stays, once durable: the client resumes after it.
    const kept = file.bytesWritten - reported;
    if (kept <= 0) throw new PartialWriteError([], { cause: err });
    await makeDurable(data, request, names);
    throw new PartialWriteError([piece(request.offset + reported, kept)], { cause: err });
  } finally {
    body.off('data', countBytes);
  }
  if (request.length !== undefined && received !== request.length) {
    throw new UploadError('range_size_mismatch', `The body has ${received} bytes, but ${request.length} were declared`);
  }
  await makeDurable(data, request, names);
  const rest = file.bytesWritten - reported;
  return rest > 0 || received === 0 ? [piece(request.offset + reported, rest)] : [];
}
