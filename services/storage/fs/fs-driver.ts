/**
 * The filesystem storage driver: DATA_DIR on one POSIX filesystem, shared by every ingest
 * and worker of one host (or over NFS). Ranges are written in place, so each byte is
 * written once; the merge hashes and renames (fs-assembly.ts).
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { UploadError } from '../../core/errors.js';
import type { Assembly, AssemblySpec, RangeWrite, StorageCapabilities, StorageDriver, SweepReport, WrittenPiece } from '../../core/storage-driver.js';
import type { PublishedFile } from '../../core/upload.js';
import { BufferPool } from '../buffer-pool.js';
import { DiskSpace } from './disk-space.js';
import { DurableNames } from './durability.js';
import { FsAssembly } from './fs-assembly.js';
import { FsLayout } from './fs-layout.js';
import { sweepFs } from './fs-sweep.js';
import { writeRangeToFile } from './range-writer.js';

export interface FsDriverOptions {
  dataDir: string;
  /** Writes are refused while less than this is free (MIN_FREE_DISK). */
  reserveBytes: number;
}

/** The merge reads in pieces of this size, two per merge at a time. */
const READ_BUFFER_SIZE = 1024 * 1024;

export class FsDriver implements StorageDriver {
  readonly name = 'fs';
  readonly capabilities: StorageCapabilities = {
    writesInPlace: true,
    assemblesWhileReceiving: true,
    serverSideConcat: false,
    minPartSize: 0,
  };
  readonly layout: FsLayout;
  readonly disk: DiskSpace;
  private readonly names = new DurableNames();
  private readonly buffers = new BufferPool(READ_BUFFER_SIZE);

  constructor(options: FsDriverOptions) {
    this.layout = new FsLayout(options.dataDir);
    this.disk = new DiskSpace(options.dataDir, options.reserveBytes);
  }

  /** Creates the data directory's folders; call once before use. */
  async init(): Promise<this> {
    await this.layout.ensure();
    return this;
  }

  async write(request: RangeWrite, body: Readable): Promise<WrittenPiece[]> {
    if (await this.disk.belowReserve()) {
      throw new UploadError('storage_full', 'The server keeps its last free space in reserve; retry later');
    }
    return writeRangeToFile(this.layout.dataFile(request.storageKey), request, body, this.names);
  }

  async discard(): Promise<void> {
    // Pieces written in place are never counted; the bytes under them belong to the data file.
  }

  async remove(storageKey: string): Promise<void> {
    await rm(this.layout.dataFile(storageKey), { force: true });
  }

  async unpublish(file: PublishedFile): Promise<void> {
    await rm(path.dirname(this.layout.absolute(file.location)), { recursive: true, force: true });
  }

  openAssembly(spec: AssemblySpec): Promise<Assembly> {
    return FsAssembly.open(this.layout, spec, this.buffers);
  }

  sweep(claim: (storageKey: string) => Promise<boolean>, olderThanMs: number): Promise<SweepReport> {
    return sweepFs(this.layout, claim, olderThanMs);
  }

  async ready(): Promise<void> {
    const probe = path.join(this.layout.tmpDir, `.ready-${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(probe, '');
      await rm(probe);
    } catch {
      throw new Error('data directory not writable');
    }
    if (await this.disk.belowReserve()) throw new Error('disk nearly full');
  }

  async close(): Promise<void> {}
}
