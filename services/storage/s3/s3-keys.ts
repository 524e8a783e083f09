/**
 * Object keys, all under S3_PREFIX. Every name is made here from hashes and numbers; the
 * one exception, a published file's name, passes through `sanitizeFilename` first.
 *
 *   ranges/<storage key>/<offset>-<length>-<random>   one object per stored range
 *   files/<upload id>/<name>                          published files
 */
import { randomBytes } from 'node:crypto';
import { sanitizeFilename } from '../../core/sanitize-filename.js';

export class S3Keys {
  constructor(readonly prefix: string) {}

  rangesOf(storageKey: string): string {
    return `${this.prefix}ranges/${storageKey}/`;
  }

  /** A new object name for a range; unique, so a retry or a duplicate never overwrites another's. */
  newRange(offset: number): string {
    // Offsets padded so a listing sorts by offset.
    return `${String(offset).padStart(16, '0')}-${randomBytes(6).toString('hex')}`;
  }

  range(storageKey: string, location: string): string {
    if (!/^\d{16}-[0-9a-f]{12}$/.test(location)) throw new Error(`not a range object name: ${location}`);
    return `${this.rangesOf(storageKey)}${location}`;
  }

  published(uploadId: string, name: string): string {
    return `${this.prefix}files/${uploadId}/${sanitizeFilename(name)}`;
  }

  get rangesRoot(): string {
    return `${this.prefix}ranges/`;
  }

  get filesRoot(): string {
    return `${this.prefix}files/`;
  }
}
