/**
 * Experiment behind the merge recommendation of the benchmark report: the worker's
 * mergeChunks (services/worker/merge-chunks.ts) against a variant that reuses two
 * buffers (read-ahead into one while the other is hashed and written, hash overlapped
 * with the write) and against `cat` + `sync`, on the same 1 MiB chunk files.
 *   node --import tsx bench/experiments/merge-variant.ts [MiB=256] [reps=5]
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mergeChunks, type ChunkSource } from '../../services/worker/merge-chunks.js';
import { median } from '../stats.js';

const READ_SIZE = 1024 * 1024;

/** The proposed mergeChunks body (without its error mapping, which stays as it is). */
async function mergeReusingBuffers(chunks: ChunkSource[], targetPath: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  const target = await open(targetPath, 'wx');
  const buffers = [Buffer.allocUnsafe(READ_SIZE), Buffer.allocUnsafe(READ_SIZE)];
  let written = 0;
  let turn = 0;
  try {
    for (const chunk of chunks) {
      const source = await open(chunk.path, 'r');
      try {
        let chunkBytes = 0;
        let pending = source.read(buffers[turn]!, 0, READ_SIZE, null);
        for (;;) {
          const { bytesRead, buffer } = await pending;
          if (bytesRead === 0) break;
          chunkBytes += bytesRead;
          if (chunkBytes > chunk.expectedLength) break;
          turn ^= 1;
          pending = source.read(buffers[turn]!, 0, READ_SIZE, null); // read ahead into the other buffer
          const view = buffer.subarray(0, bytesRead);
          const writing = target.write(view, 0, bytesRead, written); // the write runs in the thread pool...
          hash.update(view); // ...while the hash runs here
          const { bytesWritten } = await writing;
          if (bytesWritten !== bytesRead) throw new Error('short write'); // (the real one keeps writeAll's loop)
          written += bytesRead;
        }
        await pending.catch(() => undefined);
        if (chunkBytes !== chunk.expectedLength) throw new Error(`chunk holds ${chunkBytes} bytes`);
      } finally {
        await source.close();
      }
    }
    await target.sync();
  } finally {
    await target.close();
  }
  return { size: written, sha256: hash.digest('hex') };
}

const mib = Number(process.argv[2] ?? 256);
const reps = Number(process.argv[3] ?? 5);
const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-merge-exp-'));
try {
  const chunks: ChunkSource[] = [];
  for (let i = 1; i <= mib; i++) {
    const file = path.join(dir, `${i}.chunk`);
    await writeFile(file, randomBytes(READ_SIZE));
    chunks.push({ path: file, expectedLength: READ_SIZE });
  }
  execFileSync('sync', ['-f', dir]);
  const timings: Record<string, { s: number[]; cpu: number[] }> = { current: { s: [], cpu: [] }, variant: { s: [], cpu: [] }, cat: { s: [], cpu: [] } };
  let expected = '';
  for (let rep = 0; rep < reps; rep++) {
    for (const name of Object.keys(timings)) {
      const out = path.join(dir, `out-${name}.bin`);
      const cpu = process.cpuUsage();
      const started = performance.now();
      if (name === 'cat') {
        execFileSync('sh', ['-c', 'cat -- "$@" > "$0" && sync -- "$0"', out, ...chunks.map((c) => c.path)]);
      } else {
        const result = name === 'current' ? await mergeChunks(chunks, out, { onProgress: () => undefined }) : await mergeReusingBuffers(chunks, out);
        if (expected && result.sha256 !== expected) throw new Error('hash differs');
        expected = result.sha256;
      }
      timings[name]!.s.push((performance.now() - started) / 1000);
      const used = process.cpuUsage(cpu);
      timings[name]!.cpu.push((used.user + used.system) / 1e6);
      await rm(out);
      execFileSync('sync', ['-f', dir]);
    }
  }
  for (const [name, { s, cpu }] of Object.entries(timings)) {
    console.log(`${name.padEnd(8)} ${(mib / median(s)).toFixed(0).padStart(5)} MiB/s  median ${median(s).toFixed(3)} s  CPU ${name === 'cat' ? '(child) ' : ''}${median(cpu).toFixed(3)} s`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
