/**
 * The merge ceiling: `cat` of a file's chunk files, in order, into one file, then `sync`
 * of that file (coreutils `sync FILE` fsyncs it). Run on Chunkyard's own stored chunks,
 * with as many files at once as the worker merges (MERGE_CONCURRENCY, default 2).
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { runLanes } from './http-client.js';

/** The chunk files of every upload under DATA_DIR/chunks, each list in chunk order. */
export async function storedChunkLists(chunksDir: string): Promise<string[][]> {
  const lists: string[][] = [];
  for (const dir of await readdir(chunksDir)) {
    const names = await readdir(path.join(chunksDir, dir));
    names.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
    lists.push(names.map((name) => path.join(chunksDir, dir, name)));
  }
  return lists;
}

function catAndSync(chunks: string[], output: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'cat -- "$@" > "$0" && sync -- "$0"', output, ...chunks], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cat/sync exited ${code}`))));
  });
}

/** Seconds to cat+sync every list into outDir, `concurrency` files at a time. */
export async function catMerge(lists: string[][], outDir: string, concurrency: number): Promise<{ seconds: number; outputs: string[] }> {
  const outputs = lists.map((_, i) => path.join(outDir, `cat-${i}.bin`));
  const started = performance.now();
  await runLanes(lists.length, concurrency, (i) => catAndSync(lists[i]!, outputs[i]!));
  return { seconds: (performance.now() - started) / 1000, outputs };
}
