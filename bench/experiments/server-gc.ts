/**
 * One baseline server under the load client, with its garbage collections counted
 * (gc-counter.mjs preloaded) and its CPU read from /proc: to see what the stack's floor
 * (Koa) pays against the ceilings, and what a node flag changes.
 *
 *   node --import tsx bench/experiments/server-gc.ts <plain|busboy|koa-floor> <multipart|octet> [rounds=3] [node flags...]
 *   e.g. node --import tsx bench/experiments/server-gc.ts koa-floor octet 3 --initial-old-space-size=64
 *
 * Each round is 64×4 MiB at K=8 (1 MiB chunks, 256 requests), after one round of warm-up;
 * FSYNC=0 (set FSYNC=1 for the fdatasync variants).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/lib/redis-server.js';
import { ChunkSource } from '../chunk-source.js';
import { runLoad, type BodyKind } from '../load-client.js';
import { cpuSeconds } from '../process-stats.js';
import { onCleanup, repoRoot, runScript, spawnNode } from '../processes.js';
import { MiB, fmt } from '../stats.js';

const [kind = 'koa-floor', body = 'octet', roundsArg = '3', ...flags] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));

type GcCounts = Record<string, { count: number; ms: number }>;

await runScript('server-gc', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-server-gc-'));
  const gcDir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-server-gc-counts-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  onCleanup(() => rm(gcDir, { recursive: true, force: true }));
  const port = await freePort();
  const server = spawnNode(kind, path.join(repoRoot, 'bench/baselines', `${kind}-server.ts`), {
    PORT: String(port), DIR: dir, FSYNC: process.env.FSYNC ?? '0', GCCOUNT_DIR: gcDir,
  }, [...flags, '--import', path.join(here, 'gc-counter.mjs')]);
  onCleanup(() => server.stop());
  await server.waitForLog('listening');
  const counts = async (): Promise<GcCounts> => {
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the counter writes every second
    return JSON.parse(await readFile(path.join(gcDir, `ingest-${server.pid}.json`), 'utf8').catch(() => '{}')) as GcCounts;
  };
  const source = new ChunkSource(MiB);
  const round = async (id: string) => {
    const load = await runLoad({ urls: [`http://127.0.0.1:${port}`], files: 64, fileSize: 4 * MiB, chunkSize: MiB, concurrency: 8, body: body as BodyKind, source, runId: id });
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    return load.bytes / MiB / ((load.finishedAt - load.startedAt) / 1000);
  };
  await round('warm');
  const before = await counts();
  const cpuBefore = cpuSeconds(server.pid);
  const rates: number[] = [];
  const rounds = Number(roundsArg);
  for (let i = 0; i < rounds; i++) rates.push(await round(`r${i}`));
  const cpu = cpuSeconds(server.pid) - cpuBefore;
  const after = await counts();
  const delta = (gc: string) => (after[gc]?.count ?? 0) - (before[gc]?.count ?? 0);
  const pauseMs = Object.keys(after).reduce((sum, gc) => sum + (after[gc]!.ms - (before[gc]?.ms ?? 0)), 0);
  process.stdout.write(
    `${kind} ${body}${flags.length ? ` ${flags.join(' ')}` : ''}: ${rates.map((r) => fmt(r)).join(', ')} MiB/s; ` +
      `CPU ${fmt((cpu / (rounds * 256)) * 1000, 2)} ms per 1 MiB request; scavenges ${delta('scavenge')}, mark-compacts ${delta('markCompact')}, ` +
      `GC pauses ${fmt(pauseMs, 0)} ms over ${rounds * 256} requests\n`,
  );
});
