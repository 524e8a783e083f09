import { open } from 'node:fs/promises';

/** Flushes a directory, so the names renamed into it survive a power cut. */
export async function fsyncDirectory(dirPath: string): Promise<void> {
  const handle = await open(dirPath, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
