/**
 * One measured run of each kind. Each returns figures of that single run; run.ts repeats
 * them, interleaved, and reports medians and same-repetition ratios.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { catMerge, storedChunkLists } from './cat-merge.js';
import { cutChunks, type ChunkSource } from './chunk-source.js';
import { createAgent, send } from './http-client.js';
import { identifierOf, runLoad, sendChunk, testChunk, type BodyKind, type LoadOptions } from './load-client.js';
import { ProcessMonitor, type ProcessUsage } from './process-stats.js';
import type { RoundTripCount, RoundTripCounter } from './redis-roundtrips.js';
import { MiB, percentile } from './stats.js';
import type { Baseline, Chunkyard, MergedLine } from './systems.js';
import { runTus } from './tus-client.js';

export interface Shape {
  name: string;
  files: number;
  fileSize: number;
  chunkSize: number;
}

export interface RunSample {
  bytes: number;
  requests: number;
  ingestMiBps: number;
  /** Every file present and verified (Chunkyard: merged; tus: last PATCH acknowledged). */
  e2eMiBps?: number;
  p50Ms: number;
  p99Ms: number;
  cpu: Record<string, number>;
  rssMiB: Record<string, number>;
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

function usageOf(usage: Record<string, ProcessUsage>): Pick<RunSample, 'cpu' | 'rssMiB'> {
  const cpu: Record<string, number> = {};
  const rssMiB: Record<string, number> = {};
  for (const [name, { cpuSeconds, peakRssMiB }] of Object.entries(usage)) {
    const role = name.replace(/-\d+$/, ''); // ingest-0, ingest-1 -> ingest (summed CPU, largest RSS)
    cpu[role] = (cpu[role] ?? 0) + cpuSeconds;
    rssMiB[role] = Math.max(rssMiB[role] ?? 0, peakRssMiB);
  }
  return { cpu, rssMiB };
}

function chunkyardPids(cy: Chunkyard, redisPid: number, withIngest = true): Record<string, number> {
  const pids: Record<string, number> = { redis: redisPid };
  if (withIngest) cy.ingests.forEach((ingest, i) => (pids[`ingest-${i}`] = ingest.pid));
  if (cy.worker) pids.worker = cy.worker.pid;
  return pids;
}

/** Checks every merged file against the bytes sent, then removes it. */
async function verifyMerged(cy: Chunkyard, shape: Shape, source: ChunkSource, lines: MergedLine[], fileOf: Map<string, number>): Promise<void> {
  for (const line of lines) {
    const fileIndex = fileOf.get(line.uploadId)!;
    if (line.size !== shape.fileSize) throw new Error(`merged ${line.uploadId}: ${line.size} bytes, expected ${shape.fileSize}`);
    if (line.sha256 !== source.sha256(fileIndex, shape.fileSize)) throw new Error(`merged ${line.uploadId}: SHA-256 differs from the bytes sent`);
    const onDisk = await stat(path.join(cy.options.dataDir, line.path));
    if (onDisk.size !== shape.fileSize) throw new Error(`merged ${line.uploadId}: ${onDisk.size} bytes on disk`);
  }
}

async function removeMerged(cy: Chunkyard, lines: MergedLine[]): Promise<void> {
  await Promise.all(lines.map((line) => rm(path.dirname(path.join(cy.options.dataDir, line.path)), { recursive: true, force: true })));
}

function loadOptions(urls: string[], shape: Shape, concurrency: number, body: BodyKind, source: ChunkSource, runId: string): LoadOptions {
  return { urls, files: shape.files, fileSize: shape.fileSize, chunkSize: shape.chunkSize, concurrency, body, source, runId };
}

/** Chunkyard end to end: all chunks acknowledged (ingest), then every file merged and verified (e2e). */
export async function chunkyardRun(cy: Chunkyard, redisPid: number, shape: Shape, concurrency: number, body: BodyKind, source: ChunkSource): Promise<RunSample> {
  const runId = nextRunId('cy');
  const monitor = new ProcessMonitor(chunkyardPids(cy, redisPid));
  const load = await runLoad(loadOptions(cy.urls, shape, concurrency, body, source, runId));
  if (load.completed.length !== shape.files) throw new Error(`${load.completed.length} of ${shape.files} uploads completed`);
  const fileOf = new Map(load.completed.map((c) => [c.uploadId, c.fileIndex]));
  const lines = await cy.waitMerged([...fileOf.keys()]);
  await verifyMerged(cy, shape, source, lines, fileOf);
  const end = performance.now();
  const usage = monitor.stop();
  await removeMerged(cy, lines);
  await settleDisk(cy.options.dataDir);
  const mib = load.bytes / MiB;
  return {
    bytes: load.bytes,
    requests: load.requests,
    ingestMiBps: mib / ((load.finishedAt - load.startedAt) / 1000),
    e2eMiBps: mib / ((end - load.startedAt) / 1000),
    p50Ms: percentile(load.latenciesMs, 50),
    p99Ms: percentile(load.latenciesMs, 99),
    ...usageOf(usage),
  };
}

/** A baseline ingest server (plain or busboy), driven by the same client with the same requests. */
export async function baselineRun(baseline: Baseline, shape: Shape, concurrency: number, body: BodyKind, source: ChunkSource): Promise<RunSample> {
  const monitor = new ProcessMonitor({ server: baseline.process.pid });
  const load = await runLoad(loadOptions([baseline.url], shape, concurrency, body, source, nextRunId(baseline.kind)));
  const usage = monitor.stop();
  const stored = await readdir(baseline.dir);
  if (stored.length !== load.requests) throw new Error(`${baseline.kind} stored ${stored.length} files for ${load.requests} requests`);
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
  const mib = result.bytes / MiB;
  return {
    bytes: result.bytes,
    requests: result.requests,
    ingestMiBps: mib / ((result.finishedAt - result.startedAt) / 1000),
    e2eMiBps: mib / ((end - result.startedAt) / 1000),
    p50Ms: percentile(result.latenciesMs, 50),
    p99Ms: percentile(result.latenciesMs, 99),
    ...usageOf(usage),
  };
}

export interface MergeSample {
  bytes: number;
  mergeSeconds: number;
  catSeconds: number;
  workerCpu: number;
  /** Sum of the worker's own per-file `ms` (merge, rename, fsyncs, chunk deletion). */
  mergeMsSum: number;
}

/**
 * The merge against `cat` + fsync on the same chunk files: the queue is paused while the
 * shape is uploaded, cat merges Chunkyard's stored chunks into scratch files, then the
 * queue is resumed and the worker merges them (timed until the last `merged` line).
 */
export async function mergeRun(cy: Chunkyard, queue: Queue, redisPid: number, shape: Shape, source: ChunkSource, scratch: string, catConcurrency: number): Promise<MergeSample> {
  await queue.pause();
  const load = await runLoad(loadOptions(cy.urls, shape, 8, 'octet', source, nextRunId('merge')));
  if (load.completed.length !== shape.files) throw new Error(`${load.completed.length} of ${shape.files} uploads completed`);
  const lists = await storedChunkLists(path.join(cy.options.dataDir, 'chunks'));
  const chunkCount = cutChunks(shape.fileSize, shape.chunkSize).length;
  if (lists.length !== shape.files || lists.some((list) => list.length !== chunkCount)) {
    throw new Error(`expected ${shape.files} chunk folders of ${chunkCount} chunks, found ${lists.map((l) => l.length).join(',')}`);
  }
  await settleDisk(scratch);
  const catDir = path.join(scratch, 'cat');
  await mkdir(catDir, { recursive: true });
  const cat = await catMerge(lists, catDir, catConcurrency);
  await emptyDir(catDir);
  await settleDisk(scratch);

  const fileOf = new Map(load.completed.map((c) => [c.uploadId, c.fileIndex]));
  const monitor = new ProcessMonitor(chunkyardPids(cy, redisPid, false));
  const started = performance.now();
  await queue.resume();
  const lines = await cy.waitMerged([...fileOf.keys()]);
  const finished = Math.max(...lines.map((line) => line.receivedAt));
  const usage = monitor.stop();
  await verifyMerged(cy, shape, source, lines, fileOf);
  await removeMerged(cy, lines);
  await settleDisk(scratch);
  return {
    bytes: load.bytes,
    mergeSeconds: (finished - started) / 1000,
    catSeconds: cat.seconds,
    workerCpu: usage.worker?.cpuSeconds ?? Number.NaN,
    mergeMsSum: lines.reduce((sum, line) => sum + line.ms, 0),
  };
}

export interface RoundTripSample {
  chunks: number;
  /** Round trips per POST of a chunk that does not complete its upload. */
  perPost: number;
  /** Round trips of the one POST that completes an upload (it also enqueues the merge). */
  completingPost: number;
  /** Round trips of the first POST of an upload large enough to merge early (it enqueues the merge job). */
  earlyMergePost: number;
  /** Mean over all POSTs of the upload. */
  perPostAmortised: number;
  perGetPresent: number;
  perGetAbsent: number;
  details: Record<string, RoundTripCount>;
}

/**
 * Redis round trips per request, with no worker running (its polling would count too).
 * A warm-up upload first, so every script is cached in Redis (the first call of a script
 * costs one more round trip: EVALSHA, NOSCRIPT, EVAL).
 */
export async function roundTripRun(cy: Chunkyard, counter: RoundTripCounter, body: BodyKind, source: ChunkSource, earlyMergeMinSize: number, chunks = 16): Promise<{ sample: RoundTripSample; uploadIds: string[] }> {
  const shape: Shape = { name: 'rt', files: 1, fileSize: chunks * source.chunkSize, chunkSize: source.chunkSize };
  const uploadIds: string[] = [];
  const warm = await runLoad(loadOptions(cy.urls, shape, 1, body, source, nextRunId('rt-warm')));
  uploadIds.push(...warm.completed.map((c) => c.uploadId));

  const options = loadOptions(cy.urls, shape, 1, body, source, nextRunId('rt'));
  const cut = cutChunks(shape.fileSize, shape.chunkSize);
  const agent = createAgent(1);
  const url = cy.urls[0]!;
  const details: Record<string, RoundTripCount> = {};
  try {
    await counter.reset();
    for (const chunk of cut.slice(0, -1)) await sendChunk(agent, url, options, 0, chunk, cut.length);
    details.post = await counter.read();

    await counter.reset();
    const last = await sendChunk(agent, url, options, 0, cut[cut.length - 1]!, cut.length);
    details.completingPost = await counter.read();
    const answer = JSON.parse(last.body) as { outcome: string; uploadId: string };
    if (answer.outcome !== 'completed') throw new Error(`last chunk answered ${answer.outcome}`);
    uploadIds.push(answer.uploadId);

    const testOptions = loadOptions(cy.urls, shape, 1, body, source, nextRunId('rt-test'));
    // Chunks of an upload that is still receiving: half stored (200), half not (204).
    for (const chunk of cut.slice(0, cut.length / 2)) await sendChunk(agent, url, testOptions, 0, chunk, cut.length);
    await counter.reset();
    for (const chunk of cut.slice(0, cut.length / 2)) await testChunk(agent, url, testOptions, 0, chunk, cut.length);
    details.getPresent = await counter.read();
    await counter.reset();
    for (const chunk of cut.slice(cut.length / 2)) await testChunk(agent, url, testOptions, 0, chunk, cut.length);
    details.getAbsent = await counter.read();
    // Finish it, so nothing is left half uploaded.
    for (const chunk of cut.slice(cut.length / 2)) {
      const result = await sendChunk(agent, url, testOptions, 0, chunk, cut.length);
      const reply = JSON.parse(result.body) as { outcome: string; uploadId: string };
      if (reply.outcome === 'completed') uploadIds.push(reply.uploadId);
    }

    // The first chunk of an upload large enough to merge early also adds its merge job.
    const largeShape: Shape = { ...shape, fileSize: earlyMergeMinSize };
    const largeOptions = loadOptions(cy.urls, largeShape, 1, body, source, nextRunId('rt-early'));
    const largeCut = cutChunks(largeShape.fileSize, largeShape.chunkSize);
    await counter.reset();
    await sendChunk(agent, url, largeOptions, 0, largeCut[0]!, largeCut.length);
    details.earlyMergePost = await counter.read();
    // Cancelled, so its early merge ends as soon as a worker starts it.
    await send(agent, new URL(`/uploads/${identifierOf(largeOptions.runId, 0)}`, url), 'DELETE', {}, [Buffer.alloc(0)]);
  } finally {
    agent.destroy();
  }
  const n = cut.length;
  const half = n / 2;
  return {
    uploadIds,
    sample: {
      chunks: n,
      perPost: details.post!.roundTrips / (n - 1),
      completingPost: details.completingPost!.roundTrips,
      earlyMergePost: details.earlyMergePost!.roundTrips,
      perPostAmortised: (details.post!.roundTrips + details.completingPost!.roundTrips) / n,
      perGetPresent: details.getPresent!.roundTrips / half,
      perGetAbsent: details.getAbsent!.roundTrips / half,
      details,
    },
  };
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

