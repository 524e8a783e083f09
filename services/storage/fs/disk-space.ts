/**
 * Free space on the data directory's filesystem. Writes are refused (storage_full, which
 * clients retry) and readiness fails while less than the reserve is free, so an upload can
 * never fill the disk the rest of the system needs. Plenty of space is believed for a
 * second; a shortage is checked again every time, so writes resume as soon as space is freed.
 */
import { statfs } from 'node:fs/promises';

export class DiskSpace {
  private checkedAt = 0;
  private free = Number.POSITIVE_INFINITY;
  private pending: Promise<number> | undefined;

  constructor(
    private readonly dir: string,
    readonly reserveBytes: number,
    private readonly maxAgeMs = 1_000,
  ) {}

  /** Bytes free for an unprivileged writer, at most `maxAgeMs` old. */
  async freeBytes(): Promise<number> {
    if (Date.now() - this.checkedAt < this.maxAgeMs) return this.free;
    this.pending ??= statfs(this.dir)
      .then(({ bavail, bsize }) => {
        this.free = bavail * bsize;
        this.checkedAt = Date.now();
        return this.free;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  async belowReserve(): Promise<boolean> {
    if ((await this.freeBytes()) >= this.reserveBytes) return false;
    this.checkedAt = 0;
    return (await this.freeBytes()) < this.reserveBytes;
  }
}
