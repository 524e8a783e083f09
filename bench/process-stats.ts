/**
 * CPU seconds, peak RSS and bytes written of child processes, read from /proc (Linux only).
 * CPU is utime + stime of /proc/<pid>/stat; peak RSS is the larger of VmRSS sampled
 * every 50 ms and VmHWM, whose peak is reset at the start of a measurement by writing
 * "5" to /proc/<pid>/clear_refs (when we may; otherwise VmHWM is the process's lifetime peak).
 *
 * Bytes written are `write_bytes` and `cancelled_write_bytes` of /proc/<pid>/io. The kernel
 * charges write_bytes to the process that dirties a page cache page (each clean -> dirty
 * transition, 4 KiB at a time; O_DIRECT writes as issued), when it dirties it: whether the
 * page is later written back by a kworker, by this process's fsync or by another's, and even
 * if it never reaches the disk. Writeback and fsync charge nothing more, nor do the
 * filesystem's journal and metadata writes (jbd2). A page written again after it was written
 * back counts again. cancelled_write_bytes is charged to whoever truncates or unlinks a file
 * whose pages are still dirty (here the bench removes the files between runs, so that lands
 * on the bench's process, not the server's). bench/experiments/io-accounting.ts shows all of
 * this on this machine.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux

export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

function statusKiB(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface IoCounters {
  writeBytes: number;
  cancelledWriteBytes: number;
}

export function ioCounters(pid: number | 'self'): IoCounters {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { writeBytes: field('write_bytes'), cancelledWriteBytes: field('cancelled_write_bytes') };
  } catch {
    return { writeBytes: Number.NaN, cancelledWriteBytes: Number.NaN };
  }
}

export interface ProcessUsage {
  cpuSeconds: number;
  peakRssMiB: number;
  /** write_bytes of /proc/<pid>/io over the measurement */
  writeBytes: number;
  cancelledWriteBytes: number;
}

/** Measures a set of named processes between `start` and `stop`. */
export class ProcessMonitor {
  private readonly startCpu = new Map<string, number>();
  private readonly startIo = new Map<string, IoCounters>();
  private readonly peakKiB = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: Record<string, number>, intervalMs = 50) {
    for (const [name, pid] of Object.entries(pids)) {
      resetPeak(pid);
      this.startCpu.set(name, cpuSeconds(pid));
      this.startIo.set(name, ioCounters(pid));
      this.peakKiB.set(name, statusKiB(pid, 'VmRSS'));
    }
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      const rss = statusKiB(pid, 'VmRSS');
      if (rss > (this.peakKiB.get(name) ?? 0)) this.peakKiB.set(name, rss);
    }
  }

  stop(): Record<string, ProcessUsage> {
    clearInterval(this.timer);
    this.sample();
    const usage: Record<string, ProcessUsage> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const peak = Math.max(this.peakKiB.get(name) ?? 0, statusKiB(pid, 'VmHWM') || 0);
      const io = ioCounters(pid);
      const startIo = this.startIo.get(name)!;
      usage[name] = {
        cpuSeconds: cpuSeconds(pid) - (this.startCpu.get(name) ?? 0),
        peakRssMiB: peak / 1024,
        writeBytes: io.writeBytes - startIo.writeBytes,
        cancelledWriteBytes: io.cancelledWriteBytes - startIo.cancelledWriteBytes,
      };
    }
    return usage;
  }
}
