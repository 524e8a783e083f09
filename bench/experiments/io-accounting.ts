/**
 * What /proc/<pid>/io `write_bytes` counts on this machine, which the benchmark's "bytes
 * written per byte uploaded" relies on (bench/process-stats.ts). Each case runs in a
 * process of its own and prints its own counters and the disk's (sectors written, from
 * /sys/dev/block/<major:minor>/stat: shared with everything else on the machine, so only a
 * rough cross-check).
 *
 *   node --import tsx bench/experiments/io-accounting.ts [MiB=64] [dir=os.tmpdir()]
 *
 * Cases: buffered writes without a flush; with fdatasync after each MiB; one fdatasync at
 * the end; pages flushed by ANOTHER process (the worker flushing what the ingest wrote);
 * pages written again after they were written back, and again while still dirty; a file
 * unlinked while its pages are dirty (cancelled_write_bytes).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ioCounters } from '../process-stats.js';

const MiB = 1024 * 1024;
const self = fileURLToPath(import.meta.url);

function deviceSectorsWritten(dir: string): number {
  const { dev } = fs.statSync(dir);
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  try {
    return Number(fs.readFileSync(`/sys/dev/block/${major}:${minor}/stat`, 'utf8').trim().split(/\s+/)[6]);
  } catch {
    return Number.NaN;
  }
}

function writeMiB(fd: number, mib: number, syncEach: boolean): void {
  const buffer = Buffer.alloc(MiB, 0x5a);
  for (let i = 0; i < mib; i++) {
    fs.writeSync(fd, buffer, 0, MiB, i * MiB);
    if (syncEach) fs.fdatasyncSync(fd);
  }
}

/** One case, in this process: prints its own write_bytes and cancelled_write_bytes, in MiB. */
function child(kind: string, file: string, mib: number): void {
  const before = ioCounters('self');
  switch (kind) {
    case 'buffered':
    case 'fdatasync-each':
    case 'fdatasync-end': {
      const fd = fs.openSync(file, 'w');
      writeMiB(fd, mib, kind === 'fdatasync-each');
      if (kind === 'fdatasync-end') fs.fdatasyncSync(fd);
      fs.closeSync(fd);
      break;
    }
    case 'flush-only': {
      const fd = fs.openSync(file, 'r+');
      fs.fdatasyncSync(fd);
      fs.closeSync(fd);
      break;
    }
    case 'rewrite': {
      const fd = fs.openSync(file, 'r+');
      writeMiB(fd, mib, false); // the pages were written back: dirtied again
      writeMiB(fd, mib, false); // still dirty: not counted again
      fs.fdatasyncSync(fd);
      fs.closeSync(fd);
      break;
    }
    case 'unlink':
      fs.unlinkSync(file);
      break;
  }
  const after = ioCounters('self');
  process.stdout.write(JSON.stringify({ write: (after.writeBytes - before.writeBytes) / MiB, cancelled: (after.cancelledWriteBytes - before.cancelledWriteBytes) / MiB }));
}

function run(kind: string, file: string, mib: number, dir: string): { write: number; cancelled: number; device: number } {
  const sectors = deviceSectorsWritten(dir);
  const output = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', kind, file, String(mib)], { encoding: 'utf8' });
  const device = ((deviceSectorsWritten(dir) - sectors) * 512) / MiB;
  return { ...(JSON.parse(output) as { write: number; cancelled: number }), device };
}

if (process.argv[2] === '--child') {
  child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
} else {
  const mib = Number(process.argv[2] ?? 64);
  const dir = fs.mkdtempSync(path.join(process.argv[3] ?? os.tmpdir(), 'io-accounting-'));
  const file = path.join(dir, 'data');
  const rows: [string, ReturnType<typeof run>][] = [];
  try {
    const sync = () => execFileSync('sync', ['-f', dir]);
    rows.push([`write ${mib} MiB, no flush (writer)`, run('buffered', file, mib, dir)]);
    rows.push([`  ...then fdatasync by another process (flusher)`, run('flush-only', file, mib, dir)]);
    rows.push([`  ...then written again twice, flushed (writer)`, run('rewrite', file, mib, dir)]);
    fs.rmSync(file);
    sync();
    rows.push([`write ${mib} MiB, fdatasync after each MiB`, run('fdatasync-each', file, mib, dir)]);
    fs.rmSync(file);
    sync();
    rows.push([`write ${mib} MiB, one fdatasync at the end`, run('fdatasync-end', file, mib, dir)]);
    fs.rmSync(file);
    sync();
    rows.push([`write ${mib} MiB, no flush (writer)`, run('buffered', file, mib, dir)]);
    rows.push([`  ...then unlinked while dirty (unlinker)`, run('unlink', file, mib, dir)]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write('| Case | write_bytes MiB | cancelled_write_bytes MiB | Disk sectors written, MiB (whole device, shared) |\n| --- | --: | --: | --: |\n');
  for (const [name, r] of rows) process.stdout.write(`| ${name} | ${r.write.toFixed(2)} | ${r.cancelled.toFixed(2)} | ${r.device.toFixed(1)} |\n`);
}
