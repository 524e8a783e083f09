/**
 * One measured run of each kind. Each returns figures of that single run; run.ts repeats
 * them, interleaved, and reports medians and same-repetition ratios.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { cutChunks, type ChunkSource } from './chunk-source.js';
import { createAgent, send } from './http-client.js';
import { identifierOf, runLoad, sendChunk, testChunk, type BodyKind, type LoadOptions } from './load-client.js';
import { ProcessMonitor, type ProcessUsage } from './process-stats.js';
import type { RoundTripCount, RoundTripCounter } from './redis-roundtrips.js';
import { loadFigures, MiB, percentile } from './stats.js';
import type { Baseline, Chunkyard, MergedLine } from './systems.js';
import { runTus } from './tus-client.js';

export interface Shape {
  name: string;
  files: number;
  fileSize: number;
  chunkSize: number;
}

/** From a file's last chunk acknowledged to its `merged` line (the worker's clock), and the upload's own duration. */
export interface FileTail {
  /** First request of the file sent to its last answer received. */
  uploadMs: number;
  /** Last answer received to the worker's `merged` line (published and recorded). */
  tailMs: number;
  /** The merge followed the upload while it arrived (a large upload). */
  early: boolean;
}

export interface RunSample {
  bytes: number;
  requests: number;
  ingestMiBps: number;
  /** Every file present and verified (Chunkyard: merged; tus: last PATCH acknowledged). */
  e2eMiBps?: number;
  p50Ms: number;
  p99Ms: number;
  /** Per role (ingest, worker, redis, server): CPU seconds over the run. */
  cpu: Record<string, number>;
  rssMiB: Record<string, number>;
  /** Per role: /proc/<pid>/io write_bytes over the run (see process-stats.ts for what it counts). */
  writeBytes: Record<string, number>;
  cancelledWriteBytes: Record<string, number>;
  /** Chunkyard: per file. */
  tails?: FileTail[];
  /** Chunkyard: the run's last answer to its last `merged` line, and the run's upload duration. */
  runTail?: { tailMs: number; uploadMs: number };
  /** S3 runs: the requests radosgw served during the run, by kind (S3 API name), and the run's file count. */
  s3Requests?: Record<string, number>;
  files?: number;
}

let runCounter = 0;
export function nextRunId(label: string): string {
  return `bench-${process.pid}-${++runCounter}-${label}`;
}

/** Flushes our filesystem so one run's dirty pages are not written back during the next. */
export async function settleDisk(dir: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('sync', ['-f', dir], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
}

async function emptyDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

/** Per-process usage summed by role: ingest-0, ingest-1 -> ingest (summed CPU and bytes, largest RSS). */
export function usageOf(usage: Record<string, ProcessUsage>): Pick<RunSample, 'cpu' | 'rssMiB' | 'writeBytes' | 'cancelledWriteBytes'> {
  const cpu: Record<string, number> = {};
  const rssMiB: Record<string, number> = {};
  const writeBytes: Record<string, number> = {};
  const cancelledWriteBytes: Record<string, number> = {};
  for (const [name, u] of Object.entries(usage)) {
    const role = name.replace(/-\d+$/, '');
    cpu[role] = (cpu[role] ?? 0) + u.cpuSeconds;
    rssMiB[role] = Math.max(rssMiB[role] ?? 0, u.peakRssMiB);
    writeBytes[role] = (writeBytes[role] ?? 0) + u.writeBytes;
    cancelledWriteBytes[role] = (cancelledWriteBytes[role] ?? 0) + u.cancelledWriteBytes;
  }
  return { cpu, rssMiB, writeBytes, cancelledWriteBytes };
}

/**
 * Where a Chunkyard publishes its merged files: the size of one (to verify it), and their
 * removal after the run. By default its DATA_DIR (the filesystem driver); S3 runs pass theirs.
 */
export interface PublishedFiles {
  size(line: MergedLine): Promise<number>;
  remove(lines: MergedLine[]): Promise<void>;
}

export function filesOnDisk(cy: Chunkyard): PublishedFiles {
  return {
    size: async (line) => (await stat(path.join(cy.options.dataDir, line.path))).size,
    remove: async (lines) => {
      await Promise.all(lines.map((line) => rm(path.dirname(path.join(cy.options.dataDir, line.path)), { recursive: true, force: true })));
    },
  };
}

/** Checks every merged file against the bytes sent: size and SHA-256 of the worker's line, and the published file's size. */
export async function verifyMerged(published: PublishedFiles, shape: Shape, source: ChunkSource, lines: MergedLine[], fileOf: Map<string, number>): Promise<void> {
  for (const line of lines) {
    const fileIndex = fileOf.get(line.uploadId)!;
    if (line.size !== shape.fileSize) throw new Error(`merged ${line.uploadId}: ${line.size} bytes, expected ${shape.fileSize}`);
    if (line.sha256 !== source.sha256(fileIndex, shape.fileSize)) throw new Error(`merged ${line.uploadId}: SHA-256 differs from the bytes sent`);
    const size = await published.size(line);
    if (size !== shape.fileSize) throw new Error(`merged ${line.uploadId}: ${size} bytes published`);
  }
}

function loadOptions(urls: string[], shape: Shape, concurrency: number, body: BodyKind, source: ChunkSource, runId: string): LoadOptions {
  return { urls, files: shape.files, fileSize: shape.fileSize, chunkSize: shape.chunkSize, concurrency, body, source, runId };
}

/**
 * Chunkyard end to end: all chunks acknowledged (ingest), then every file merged and
 * verified (e2e); per file, the tail from its last acknowledged chunk to its `merged` line.
 */
export async function chunkyardRun(cy: Chunkyard, redisPid: number, shape: Shape, concurrency: number, body: BodyKind, source: ChunkSource, published = filesOnDisk(cy), otherPids: Record<string, number> = {}): Promise<RunSample> {
  const runId = nextRunId('cy');
  const monitor = new ProcessMonitor({ ...cy.pids(), redis: redisPid, ...otherPids });
  const load = await runLoad(loadOptions(cy.urls, shape, concurrency, body, source, runId));
  if (load.completed.length !== shape.files) throw new Error(`${load.completed.length} of ${shape.files} uploads completed`);
  const fileOf = new Map(load.completed.map((c) => [c.uploadId, c.fileIndex]));
  const lines = await cy.waitMerged([...fileOf.keys()]);
  await verifyMerged(published, shape, source, lines, fileOf);
  const end = performance.now();
  const usage = monitor.stop();
  await published.remove(lines);
  await settleDisk(cy.options.dataDir);
  const tails = lines.map((line): FileTail => {
    const timing = load.files[fileOf.get(line.uploadId)!]!;
    return { uploadMs: timing.lastAckAt - timing.firstSentAt, tailMs: line.time - (performance.timeOrigin + timing.lastAckAt), early: line.early };
  });
  const runTail = { tailMs: Math.max(...lines.map((line) => line.time)) - (performance.timeOrigin + load.finishedAt), uploadMs: load.finishedAt - load.startedAt };
  return {
    ...loadFigures(load, end),
    ...usageOf(usage),
    tails,
    runTail,
  };
}

/** A baseline ingest server (plain, busboy, the Koa floor), driven by the same client with the same requests. */
export async function baselineRun(baseline: Baseline, shape: Shape, concurrency: number, body: BodyKind, source: ChunkSource): Promise<RunSample> {
  const monitor = new ProcessMonitor({ server: baseline.process.pid });
  const load = await runLoad(loadOptions([baseline.url], shape, concurrency, body, source, nextRunId(baseline.kind)));
  const usage = monitor.stop();
  const stored = await readdir(baseline.dir);
  if (stored.length !== load.requests) throw new Error(`${baseline.name} stored ${stored.length} files for ${load.requests} requests`);
  await emptyDir(baseline.dir);
  await settleDisk(baseline.dir);
  return {
    bytes: load.bytes,
    requests: load.requests,
    ingestMiBps: load.bytes / MiB / ((load.finishedAt - load.startedAt) / 1000),
    p50Ms: percentile(load.latenciesMs, 50),
    p99Ms: percentile(load.latenciesMs, 99),
    ...usageOf(usage),
  };
}

/** @tus/server + FileStore: every file is complete on disk once its last PATCH is acknowledged. */
export async function tusRun(baseline: Baseline, shape: Shape, concurrency: number, source: ChunkSource): Promise<RunSample> {
  const monitor = new ProcessMonitor({ server: baseline.process.pid });
  const result = await runTus({ url: baseline.url, files: shape.files, fileSize: shape.fileSize, chunkSize: shape.chunkSize, concurrency, source });
  for (const id of result.ids) {
    const onDisk = await stat(path.join(baseline.dir, id));
    if (onDisk.size !== shape.fileSize) throw new Error(`tus file ${id}: ${onDisk.size} bytes`);
  }
  const end = performance.now();
  const usage = monitor.stop();
  await emptyDir(baseline.dir);
  await settleDisk(baseline.dir);
  return {
    ...loadFigures(result, end),
    ...usageOf(usage),
  };
}

/** The kinds of chunk request whose Redis round trips are counted. */
export const ROUND_TRIP_KINDS = {
  firstPost: 'First POST of an upload (record + quota reservation)',
  post: 'Any other POST (record)',
  earlyMergePost: 'Second stored range of a large upload (record + early merge job)',
  completingPost: 'Completing POST (record + merge job)',
  getPresent: 'Test GET, chunk stored',
  getAbsent: 'Test GET, chunk absent',
} as const;
export type RoundTripKind = keyof typeof ROUND_TRIP_KINDS;

export interface RoundTripSample {
  /** Requests counted per kind. */
  requests: Record<RoundTripKind, number>;
  /** Round trips per request of each kind. */
  perRequest: Record<RoundTripKind, number>;
  /** Mean over every POST of a 16-chunk upload. */
  perPostAmortised: number;
  details: Record<RoundTripKind, RoundTripCount>;
}

/**
 * Redis round trips per request, with no worker running (its polling would count too).
 * A warm-up upload first, so every script is cached in Redis (the first call of a script
 * costs one more round trip: EVALSHA, NOSCRIPT, EVAL). Then, one at a time: a small
 * upload's first, middle and completing POSTs; test GETs of a half-stored upload; the first
 * three POSTs of an upload of EARLY_MERGE_MIN_SIZE (its second stored range adds the early
 * merge job), which is then cancelled.
 */
export async function roundTripRun(cy: Chunkyard, counter: RoundTripCounter, body: BodyKind, source: ChunkSource, earlyMergeMinSize: number, chunks = 16): Promise<{ sample: RoundTripSample; uploadIds: string[] }> {
  const shape: Shape = { name: 'rt', files: 1, fileSize: chunks * source.chunkSize, chunkSize: source.chunkSize };
  const uploadIds: string[] = [];
  const warm = await runLoad(loadOptions(cy.urls, shape, 1, body, source, nextRunId('rt-warm')));
  uploadIds.push(...warm.completed.map((c) => c.uploadId));

  const cut = cutChunks(shape.fileSize, shape.chunkSize);
  const agent = createAgent(1);
  const url = cy.urls[0]!;
  const counts = new Map<RoundTripKind, { requests: number; counts: RoundTripCount[] }>();
  /** Counts the round trips of `requests` requests of one kind, sent one after the other. */
  const measure = async <T>(kind: RoundTripKind, requests: number, send: () => Promise<T>): Promise<T> => {
    await counter.reset();
    const result = await send();
    const entry = counts.get(kind) ?? { requests: 0, counts: [] };
    entry.requests += requests;
    entry.counts.push(await counter.read());
    counts.set(kind, entry);
    return result;
  };
  const completedId = (answer: { body: string }) => {
    const reply = JSON.parse(answer.body) as { outcome: string; uploadId: string };
    return reply.outcome === 'completed' ? reply.uploadId : undefined;
  };
  try {
    // A small upload: its first, middle and completing POSTs.
    const options = loadOptions(cy.urls, shape, 1, body, source, nextRunId('rt'));
    const post = (chunk: (typeof cut)[number]) => sendChunk(agent, url, options, 0, chunk, cut.length);
    await measure('firstPost', 1, () => post(cut[0]!));
    await measure('post', cut.length - 2, async () => {
      for (const chunk of cut.slice(1, -1)) await post(chunk);
    });
    const last = await measure('completingPost', 1, () => post(cut[cut.length - 1]!));
    const id = completedId(last);
    if (!id) throw new Error(`last chunk answered ${last.body}`);
    uploadIds.push(id);

    // Test GETs of an upload still receiving: half its chunks stored (200), half not (204).
    const testOptions = loadOptions(cy.urls, shape, 1, body, source, nextRunId('rt-test'));
    const half = cut.length / 2;
    for (const chunk of cut.slice(0, half)) await sendChunk(agent, url, testOptions, 0, chunk, cut.length);
    const test = async (chunks: typeof cut, expected: number) => {
      for (const chunk of chunks) {
        const status = await testChunk(agent, url, testOptions, 0, chunk, cut.length);
        if (status !== expected) throw new Error(`test GET of chunk ${chunk.number}: ${status}, expected ${expected}`);
      }
    };
    await measure('getPresent', half, () => test(cut.slice(0, half), 200));
    await measure('getAbsent', cut.length - half, () => test(cut.slice(half), 204));
    for (const chunk of cut.slice(half)) {
      const done = completedId(await sendChunk(agent, url, testOptions, 0, chunk, cut.length));
      if (done) uploadIds.push(done);
    }

    // A large upload: its second stored range adds its early merge job.
    const largeShape: Shape = { ...shape, fileSize: earlyMergeMinSize };
    const largeOptions = loadOptions(cy.urls, largeShape, 1, body, source, nextRunId('rt-early'));
    const largeCut = cutChunks(largeShape.fileSize, largeShape.chunkSize);
    const postLarge = (i: number) => sendChunk(agent, url, largeOptions, 0, largeCut[i]!, largeCut.length);
    await measure('firstPost', 1, () => postLarge(0));
    await measure('earlyMergePost', 1, () => postLarge(1));
    await measure('post', 1, () => postLarge(2));
    // Cancelled, so its early merge ends as soon as a worker starts it.
    await send(agent, new URL(`/uploads/${identifierOf(largeOptions.runId, 0)}`, url), 'DELETE', {}, [Buffer.alloc(0)]);
  } finally {
    agent.destroy();
  }
  const kinds = Object.keys(ROUND_TRIP_KINDS) as RoundTripKind[];
  const details = Object.fromEntries(kinds.map((kind) => [kind, mergeCounts(counts.get(kind)?.counts ?? [])])) as Record<RoundTripKind, RoundTripCount>;
  const requests = Object.fromEntries(kinds.map((kind) => [kind, counts.get(kind)?.requests ?? 0])) as Record<RoundTripKind, number>;
  const perRequest = Object.fromEntries(kinds.map((kind) => [kind, details[kind].roundTrips / requests[kind]])) as Record<RoundTripKind, number>;
  const smallPosts = perRequest.firstPost + perRequest.post * (cut.length - 2) + perRequest.completingPost;
  return { uploadIds, sample: { requests, perRequest, perPostAmortised: smallPosts / cut.length, details } };
}

function mergeCounts(list: RoundTripCount[]): RoundTripCount {
  const total: RoundTripCount = { commandstats: {}, commandstatsTotal: 0, insideScripts: 0, listenerReads: 0, roundTrips: 0, monitorRoundTrips: 0, topLevel: {} };
  for (const c of list) {
    for (const [k, v] of Object.entries(c.commandstats)) total.commandstats[k] = (total.commandstats[k] ?? 0) + v;
    for (const [k, v] of Object.entries(c.topLevel)) total.topLevel[k] = (total.topLevel[k] ?? 0) + v;
    total.commandstatsTotal += c.commandstatsTotal;
    total.insideScripts += c.insideScripts;
    total.listenerReads += c.listenerReads;
    total.roundTrips += c.roundTrips;
    total.monitorRoundTrips += c.monitorRoundTrips;
  }
  return total;
}

export interface MemorySample extends RunSample {
  fileSize: number;
  seconds: number;
}

/** One big file through a fresh Chunkyard, sampling the RSS of ingest and worker throughout. */
export async function memoryRun(cy: Chunkyard, redisPid: number, shape: Shape, body: BodyKind, concurrency: number, source: ChunkSource): Promise<MemorySample> {
  const sample = await chunkyardRun(cy, redisPid, shape, concurrency, body, source);
  return { ...sample, fileSize: shape.fileSize, seconds: sample.bytes / MiB / sample.e2eMiBps! };
}
