import { open } from 'node:fs/promises';

/** Flushes a file's data to disk. A rename is atomic, but without this a power cut can leave it empty. */
export async function fsyncFile(filePath: string): Promise<void> {
  const handle = await open(filePath, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a directory, so the names renamed into it survive a power cut. */
export async function fsyncDirectory(dirPath: string): Promise<void> {
  await fsyncFile(dirPath);
}
