/**
 * A merge on the filesystem. An upload's ranges were written at their offsets into its
 * one data file, so its merge copies nothing: it reads the file to hash it (following the
 * contiguous bytes while the rest still arrives), flushes it, and renames it into
 * `files/<upload id>/` (atomic: only a whole, verified file ever has the published name).
 * Ranges of other uploads (a tus final upload's partials) are copied in instead.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { errorCodeOf } from '../../core/errors.js';
import { sanitizeFilename } from '../../core/sanitize-filename.js';
import { MissingDataError, type Assembly, type AssemblySpec, type SourceRange } from '../../core/storage-driver.js';
import type { PublishedFile } from '../../core/upload.js';
import type { BufferPool } from '../buffer-pool.js';
import { fsyncDirectory } from './durability.js';
import type { FsLayout } from './fs-layout.js';
import { RegionReader, type FileRegion } from './region-reader.js';

const TARGET_FLAGS = constants.O_RDWR | constants.O_NOFOLLOW;
/** A merged file built from other uploads' bytes (a tus final upload) is new. */
const NEW_TARGET_FLAGS = TARGET_FLAGS | constants.O_CREAT | constants.O_TRUNC;

export class FsAssembly implements Assembly {
  readonly reference = undefined;
  private readonly hash = createHash('sha256');
  private written = 0;
  private copied = false;
  private readonly sources = new Map<string, FileHandle>();

  private constructor(
    private readonly layout: FsLayout,
    private readonly spec: AssemblySpec,
    private readonly pool: BufferPool,
    /** Opened when the data file exists; else created by the first range copied in. */
    private target: FileHandle | undefined,
    private readonly targetPath: string,
    /** The merge was published by an earlier attempt: hash the published file instead. */
    private readonly republishing: boolean,
  ) {}

  static async open(layout: FsLayout, spec: AssemblySpec, pool: BufferPool): Promise<FsAssembly> {
    const dataFile = layout.dataFile(spec.storageKey);
    const published = path.join(layout.uploadFilesDir(spec.uploadId), sanitizeFilename(spec.name));
    const dataFileExists = await stat(dataFile).then(() => true, () => false);
    if (!dataFileExists && (await stat(published).then(() => true, () => false))) {
      // A rerun of a merge that published before its result was recorded: the published
      // file is this upload's data file, renamed.
      return new FsAssembly(layout, spec, pool, await open(published, 'r'), published, true);
    }
    const target = dataFileExists ? await open(dataFile, TARGET_FLAGS) : undefined;
    return new FsAssembly(layout, spec, pool, target, dataFile, false);
  }

  get size(): number {
    return this.written;
  }

  async add(ranges: SourceRange[]): Promise<void> {
    const regions: FileRegion[] = [];
    const copies: boolean[] = [];
    let position = this.written;
    for (const range of ranges) {
      const own = range.storageKey === this.spec.storageKey && range.location === '';
      if (own && range.offset !== position) throw new MissingDataError(`the range at ${range.offset} does not continue the merged bytes`);
      const inPlace = own || this.republishing;
      if (inPlace && !this.target) throw new MissingDataError("the upload's stored bytes are missing");
      const file = inPlace ? this.target! : await this.source(range.storageKey);
      regions.push({ file, position: inPlace ? position : range.offset, length: range.length, label: `the range at ${range.offset}` });
      copies.push(!inPlace);
      position += range.length;
    }
    const reader = new RegionReader(regions, this.pool);
    try {
      let regionIndex = 0;
      let regionDone = 0;
      for (let piece = await reader.next(); piece !== undefined; piece = await reader.next()) {
        this.spec.signal?.throwIfAborted();
        while (regionDone === regions[regionIndex]!.length) {
          regionIndex++;
          regionDone = 0;
        }
        if (copies[regionIndex]) {
          this.target ??= await open(this.targetPath, NEW_TARGET_FLAGS, 0o640);
          const writing = writeAll(this.target, piece, this.written);
          this.hash.update(piece); // both only read `piece`
          await writing;
          this.copied = true;
        } else {
          this.hash.update(piece);
        }
        this.written += piece.length;
        regionDone += piece.length;
      }
    } finally {
      await reader.close();
    }
  }

  async finish(): Promise<PublishedFile> {
    this.spec.signal?.throwIfAborted();
    // An empty upload's data file may never have been written (a tus upload of 0 bytes).
    this.target ??= await open(this.targetPath, NEW_TARGET_FLAGS, 0o640);
    const { size } = await this.target.stat();
    if (size < this.written) throw new MissingDataError(`the data file holds ${size} bytes, ${this.written} were merged`);
    // Bytes past the end were never counted (a refused range): they are not the file's.
    if (size > this.written && !this.republishing) await this.target.truncate(this.written);
    if (!this.republishing) await this.target.datasync();
    await this.target.close();
    await this.closeSources();
    const sha256 = this.hash.digest('hex');
    if (this.republishing) return { location: this.layout.relative(this.targetPath), size: this.written, sha256 };

    const dir = this.layout.uploadFilesDir(this.spec.uploadId);
    // Not recursive (files/ is always there): a recursive mkdir reports a full disk as ENOENT.
    const made = await mkdir(dir).then(() => true, (err: unknown) => {
      if (errorCodeOf(err) !== 'EEXIST') throw err;
      return false;
    });
    if (made) await fsyncDirectory(this.layout.filesDir);
    const destination = path.join(dir, sanitizeFilename(this.spec.name));
    await rename(this.targetPath, destination);
    // The published name must survive a power cut before the result is recorded.
    await fsyncDirectory(dir);
    await fsyncDirectory(this.layout.partialDir);
    return { location: this.layout.relative(destination), size: this.written, sha256 };
  }

  async abort(): Promise<void> {
    await this.target?.close().catch(() => undefined);
    await this.closeSources();
    // Bytes copied in from other uploads are this merge's own; in-place bytes are the upload's.
    if (this.copied) await rm(this.targetPath, { force: true });
  }

  private async source(storageKey: string): Promise<FileHandle> {
    let handle = this.sources.get(storageKey);
    if (!handle) {
      try {
        handle = await open(this.layout.dataFile(storageKey), constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (err) {
        if (errorCodeOf(err) === 'ENOENT') throw new MissingDataError(`the bytes of upload part ${storageKey} are missing`, { cause: err });
        throw err;
      }
      this.sources.set(storageKey, handle);
    }
    return handle;
  }

  private async closeSources(): Promise<void> {
    await Promise.all([...this.sources.values()].map((handle) => handle.close().catch(() => undefined)));
    this.sources.clear();
  }
}

async function writeAll(target: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await target.write(buffer, offset, buffer.length - offset, position + offset);
    offset += bytesWritten;
  }
}
