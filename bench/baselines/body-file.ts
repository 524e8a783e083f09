/**
 * What every baseline server does with a body: stream it into a file of its own and, with
 * FSYNC=1, fdatasync it before the answer (as Chunkyard does with CHUNK_FSYNC=true: the
 * bytes are on the disk when the client hears they are stored). Nothing else.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';

const open = promisify(fs.open);
const close = promisify(fs.close);
const fdatasync = promisify(fs.fdatasync);

let counter = 0;

export interface BodyFiles {
  dir: string;
  fsync: boolean;
}

export function bodyFilesFromEnv(): BodyFiles {
  return { dir: process.env.DIR!, fsync: process.env.FSYNC === '1' };
}

/** Streams `body` into a new file in `dir`; resolves once it is written (and flushed, with fsync). */
export async function storeBody(files: BodyFiles, body: Readable): Promise<void> {
  const fd = await open(path.join(files.dir, `${process.pid}-${++counter}.bin`), 'wx');
  try {
    await pipeline(body, fs.createWriteStream('', { fd, autoClose: false, highWaterMark: 256 * 1024 }));
    if (files.fsync) await fdatasync(fd);
  } finally {
    await close(fd);
  }
}
