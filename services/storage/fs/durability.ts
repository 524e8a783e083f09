/**
 * What makes bytes and names survive a power cut on a POSIX filesystem: file data is
 * flushed with fdatasync; a new name (a created file, a rename) only once its folder is
 * fsynced. docs/durability.md says when each happens.
 */
import { open } from 'node:fs/promises';

/** Flushes a directory, so the names created or renamed in it survive a power cut. */
export async function fsyncDirectory(dirPath: string): Promise<void> {
  const handle = await open(dirPath, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Remembers which data files' names this process made durable (by flushing their
 * folder), keyed by inode so a file removed and created again is flushed again. Each
 * upload's data file costs one folder flush per process, not one per range.
 */
export class DurableNames {
  private readonly known = new Map<string, number>();

  constructor(private readonly capacity = 50_000) {}

  has(filePath: string, inode: number): boolean {
    return this.known.get(filePath) === inode;
  }

  add(filePath: string, inode: number): void {
    if (this.known.size >= this.capacity) this.known.delete(this.known.keys().next().value!);
    this.known.set(filePath, inode);
  }
}
