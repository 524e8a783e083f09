/**
 * Turns the repetitions into the markdown report (medians, same-repetition ratios, the
 * targets of issue 11, scaling on paper) and the one-line JSON summary. Comparisons are
 * found by role (contenders.ts): every `chunkyard` contender is compared with the ceiling of
 * its wire and fsync, the floor of its fsync, and the `peer` (tus).
 */
import { ceilingWire, type ContenderInfo, type Wire } from './contenders.js';
import type { BodyKind } from './load-client.js';
import { ROUND_TRIP_KINDS, type MemorySample, type RoundTripKind, type RoundTripSample, type RunSample, type Shape } from './phases.js';
import { protocolSections } from './report-protocols.js';
import { MiB, fmt, fmtRatio, median, round } from './stats.js';

export interface Results {
  mode: string;
  reps: number;
  command: string;
  environment: Record<string, unknown>;
  shapes: Shape[];
  concurrencies: number[];
  wires: Wire[];
  contenders: ContenderInfo[];
  /** `${shape}|${K}|${wire}|${contender}` -> one sample per repetition */
  runs: Record<string, RunSample[]>;
  /** `${body}|${chunk bytes}` -> samples of the CPU-cost runs */
  cost: Record<string, RunSample[]>;
  costShape?: { bytes: number; chunkSizes: [number, number]; concurrency: number };
  roundTrips: Partial<Record<BodyKind, RoundTripSample>>;
  memory?: MemorySample & { body: BodyKind; concurrency: number };
  /** The services' EARLY_MERGE_MIN_SIZE: files at least this large merge while they arrive. */
  earlyMergeMinSize: number;
}

export function runKey(shape: string, k: number, wire: Wire, contender: string): string {
  return `${shape}|${k}|${wire}|${contender}`;
}

/** Ratios a/b of the same repetition, then their median. */
export function pairedRatio(a: RunSample[] | undefined, b: RunSample[] | undefined, pick: (s: RunSample) => number | undefined): number {
  const values: number[] = [];
  for (let i = 0; i < Math.min(a?.length ?? 0, b?.length ?? 0); i++) {
    const x = pick(a![i]!);
    const y = pick(b![i]!);
    if (x !== undefined && y !== undefined) values.push(x / y);
  }
  return median(values);
}

export const med = (samples: RunSample[] | undefined, pick: (s: RunSample) => number | undefined) =>
  median((samples ?? []).map(pick).filter((v): v is number => v !== undefined));

const sumOf = (record: Record<string, number>, roles?: string[]) =>
  Object.entries(record).filter(([role]) => !roles || roles.includes(role)).reduce((sum, [, v]) => sum + v, 0);

/** The processes that write for a system: Chunkyard's ingest and worker (not Redis, which persists nothing here), a baseline's server. */
const WRITERS = ['ingest', 'worker', 'server'];
/** write_bytes of the system's processes per byte uploaded. */
const writtenPerByte = (s: RunSample) => sumOf(s.writeBytes, WRITERS) / s.bytes;

/** Per run: the largest share of a file's upload duration that its tail took, and the median tail. */
function tailFigures(s: RunSample): { share: number; tailMs: number; uploadMs: number } | undefined {
  if (!s.tails?.length) return undefined;
  return {
    share: Math.max(...s.tails.map((t) => t.tailMs / t.uploadMs)),
    tailMs: median(s.tails.map((t) => t.tailMs)),
    uploadMs: median(s.tails.map((t) => t.uploadMs)),
  };
}

interface CostFit {
  ingestMsPerMiB: number;
  ingestMsPerChunk: number;
  workerMsPerMiB: number;
  workerMsPerChunk: number;
  redisMsPerChunk: number;
}

/** cpu = a * MiB + b * chunks, from two runs of the same bytes in different chunk sizes (per repetition, then median). */
function costFit(results: Results, body: BodyKind): CostFit | undefined {
  if (!results.costShape) return undefined;
  const [big, small] = results.costShape.chunkSizes;
  const a = results.cost[`${body}|${big}`];
  const b = results.cost[`${body}|${small}`];
  if (!a || !b) return undefined;
  const fits: Record<keyof CostFit, number[]> = { ingestMsPerMiB: [], ingestMsPerChunk: [], workerMsPerMiB: [], workerMsPerChunk: [], redisMsPerChunk: [] };
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    const mib = x.bytes / MiB;
    for (const role of ['ingest', 'worker'] as const) {
      const perChunk = ((y.cpu[role] ?? 0) - (x.cpu[role] ?? 0)) / (y.requests - x.requests);
      const perMiB = ((x.cpu[role] ?? 0) - perChunk * x.requests) / mib;
      fits[`${role}MsPerChunk`].push(perChunk * 1000);
      fits[`${role}MsPerMiB`].push(perMiB * 1000);
    }
    fits.redisMsPerChunk.push((((x.cpu.redis ?? 0) / x.requests + (y.cpu.redis ?? 0) / y.requests) / 2) * 1000);
  }
  return Object.fromEntries(Object.entries(fits).map(([k, v]) => [k, median(v)])) as unknown as CostFit;
}

export interface Report {
  markdown: string;
  json: Record<string, unknown>;
}

export interface Target {
  name: string;
  met: boolean | undefined;
  detail: string;
}

export const pct = (ratio: number) => `${fmt(ratio * 100, 0)} %`;

export function buildReport(results: Results): Report {
  const out: string[] = [];
  const json: Record<string, unknown> = { bench: 'chunkyard', mode: results.mode, reps: results.reps, command: results.command, environment: results.environment };
  const targets: Target[] = [];
  const kMax = Math.max(...results.concurrencies);
  const byName = new Map(results.contenders.map((c) => [c.name, c]));
  // The issue-11 comparisons: resumable.js on the filesystem (S3 and tus runs have sections of their own).
  const chunkyards = results.contenders.filter((c) => c.role === 'chunkyard' && !c.section);
  const samplesOf = (shape: string, k: number, wire: Wire, name: string | undefined) => (name ? results.runs[runKey(shape, k, wire, name)] : undefined);
  const find = (role: ContenderInfo['role'], wire: Wire, fsync?: boolean) =>
    results.contenders.find((c) => c.role === role && c.wires.includes(wire) && (fsync === undefined || c.fsync === fsync));
  const ceilingFor = (cy: ContenderInfo, wire: Wire) => find('ceiling', ceilingWire(wire), cy.fsync);
  const floorFor = (cy: ContenderInfo, wire: Wire) => find('floor', ceilingWire(wire), cy.fsync);
  const peer = results.contenders.find((c) => c.role === 'peer' && c.wires.includes('tus'));
  const peerWire: Wire | undefined = peer?.wires[0];
  const fsyncName = (cy: ContenderInfo) => (cy.fsync ? 'CHUNK_FSYNC=true' : 'CHUNK_FSYNC=false');

  out.push(`## Chunkyard benchmark (${results.mode}, median of ${results.reps} repetitions)`, '');
  out.push(`Command: \`${results.command}\``, '');
  out.push(`Environment: ${Object.entries(results.environment).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`, '');

  // Throughput, latency, CPU, RSS, bytes written
  const table: string[] = [];
  table.push('### Throughput and latency', '');
  table.push('Ingest: first request to last chunk acknowledged (Spread: the fastest repetition\'s ingest rate over the slowest, a gauge of how much the shared machine disturbed the row). End to end: to every file merged and verified (size, SHA-256, on disk); for tus, to the last PATCH acknowledged and every file complete on disk. CPU: seconds of the server processes over the run (Chunkyard: ingest + worker; Redis apart). RSS: peak during the run (Chunkyard: ingest / worker). Written: write_bytes of /proc/<pid>/io of the server processes (ingest + worker) per byte uploaded.', '');
  table.push('| Shape | K | Wire | System | Ingest MiB/s | Spread | End-to-end MiB/s | p50 ms | p99 ms | Server CPU s | Redis CPU s | Peak RSS MiB | Written / uploaded |');
  table.push('| --- | --: | --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |');
  const runsJson: Record<string, unknown> = {};
  for (const shape of results.shapes) {
    for (const k of results.concurrencies) {
      for (const wire of results.wires) {
        for (const contender of results.contenders) {
          const samples = samplesOf(shape.name, k, wire, contender.name);
          if (!samples?.length) continue;
          const chunkyard = contender.role === 'chunkyard';
          const row = {
            ingestMiBps: med(samples, (s) => s.ingestMiBps),
            e2eMiBps: med(samples, (s) => s.e2eMiBps),
            p50Ms: med(samples, (s) => s.p50Ms),
            p99Ms: med(samples, (s) => s.p99Ms),
            serverCpuS: med(samples, (s) => sumOf(s.cpu, WRITERS)),
            ingestCpuS: med(samples, (s) => s.cpu.ingest),
            workerCpuS: med(samples, (s) => s.cpu.worker),
            redisCpuS: med(samples, (s) => s.cpu.redis),
            writtenPerByte: med(samples, writtenPerByte),
          };
          runsJson[runKey(shape.name, k, wire, contender.name)] = Object.fromEntries(Object.entries(row).filter(([, v]) => Number.isFinite(v)).map(([key, v]) => [key, round(v)]));
          const rss = chunkyard ? `${fmt(med(samples, (s) => s.rssMiB.ingest), 0)} / ${fmt(med(samples, (s) => s.rssMiB.worker), 0)}` : fmt(med(samples, (s) => s.rssMiB.server), 0);
          const kLabel = wire === 'tus' && shape.files === 1 && k > 1 ? `${k} (1*)` : String(k);
          const rates = samples.map((s) => s.ingestMiBps);
          const spread = Math.max(...rates) / Math.min(...rates);
          table.push(`| ${shape.name} | ${kLabel} | ${wire} | ${contender.label} | ${fmt(row.ingestMiBps)} | ${fmt(spread, 2)}× | ${fmt(row.e2eMiBps)} | ${fmt(row.p50Ms)} | ${fmt(row.p99Ms)} | ${fmt(row.serverCpuS, 2)} | ${fmt(row.redisCpuS, 2)} | ${rss} | ${fmt(row.writtenPerByte, 3)} |`);
        }
      }
    }
  }
  table.push('', '\\* tus sends one file strictly in order, one PATCH at a time: with one file, K > 1 still means one request in flight. With many files, K files go in parallel.', '');
  json.runs = runsJson;

  // Ratios
  const ratios: string[] = [];
  ratios.push('### Ratios within each repetition (median of the per-repetition ratios)', '');
  ratios.push('Each Chunkyard against the ceiling of its wire with the same durability (fsync against the fdatasync ceilings, no fsync against the plain ones), against the floor of its stack with the same durability (Koa + busboy → file), and end to end against @tus/server (which never fsyncs).', '');
  ratios.push('| Shape | K | Wire | Chunkyard | Ingest / ceiling | Floor / ceiling | Ingest / floor | End to end / tus |');
  ratios.push('| --- | --: | --- | --- | --: | --: | --: | --: |');
  const ratiosJson: Record<string, unknown> = {};
  for (const shape of results.shapes) {
    for (const k of results.concurrencies) {
      for (const cy of chunkyards) {
        for (const wire of cy.wires) {
          const ours = samplesOf(shape.name, k, wire, cy.name);
          if (!ours?.length) continue;
          const ceiling = samplesOf(shape.name, k, ceilingWire(wire), ceilingFor(cy, wire)?.name);
          const floor = samplesOf(shape.name, k, ceilingWire(wire), floorFor(cy, wire)?.name);
          const tus = peer && peerWire ? samplesOf(shape.name, k, peerWire, peer.name) : undefined;
          const r = {
            ingestVsCeiling: pairedRatio(ours, ceiling, (s) => s.ingestMiBps),
            floorVsCeiling: pairedRatio(floor, ceiling, (s) => s.ingestMiBps),
            ingestVsFloor: pairedRatio(ours, floor, (s) => s.ingestMiBps),
            e2eVsTus: pairedRatio(ours, tus, (s) => s.e2eMiBps),
          };
          ratiosJson[runKey(shape.name, k, wire, cy.name)] = Object.fromEntries(Object.entries(r).map(([key, v]) => [key, round(v)]));
          ratios.push(`| ${shape.name} | ${k} | ${wire} | ${fsyncName(cy)}${cy.name.startsWith('chunkyard-') ? '' : ` (${cy.label})`} | ${pct(r.ingestVsCeiling)} | ${pct(r.floorVsCeiling)} | ${pct(r.ingestVsFloor)} | ${fmtRatio(r.e2eVsTus)} |`);
          if (k !== kMax) continue;
          const ceilingLabel = byName.get(ceilingFor(cy, wire)?.name ?? '')?.label ?? '?';
          targets.push({
            name: `1. End to end ≥ 1.3 × @tus/server, ${shape.name}, ${wire}, K=${k}, ${fsyncName(cy)}`,
            met: cy.fsync && Number.isFinite(r.e2eVsTus) ? r.e2eVsTus >= 1.3 : undefined,
            detail: `${fmtRatio(r.e2eVsTus)} (${fmt(med(ours, (s) => s.e2eMiBps))} against ${fmt(med(tus, (s) => s.e2eMiBps))} MiB/s)${cy.fsync ? '' : ' (the target is with fsync; shown for comparison)'}`,
          });
          targets.push({
            name: `3. Ingest ≥ 80 % of its ceiling, ${shape.name}, ${wire}, K=${k}, ${fsyncName(cy)}`,
            met: Number.isFinite(r.ingestVsCeiling) ? r.ingestVsCeiling >= 0.8 : undefined,
            detail: `${pct(r.ingestVsCeiling)} of ${ceilingLabel} (${fmt(med(ours, (s) => s.ingestMiBps))} against ${fmt(med(ceiling, (s) => s.ingestMiBps))} MiB/s); the floor of the stack reaches ${pct(r.floorVsCeiling)}, Chunkyard ${pct(r.ingestVsFloor)} of that floor`,
          });
        }
      }
    }
  }
  ratios.push('');
  json.ratios = ratiosJson;

  // Bytes written per byte uploaded
  const writes: string[] = [];
  writes.push('### Bytes written per byte uploaded', '');
  writes.push("write_bytes of /proc/<pid>/io over the run, per byte of file uploaded: the bytes each process put into the page cache for the disk (counted when a page goes from clean to dirty, whoever writes it back and whether or not it ever reaches the disk; journal and metadata writes of the filesystem are not counted). Chunkyard: ingest + worker; the others: their one process. Cancelled: cancelled_write_bytes of the same processes (dirty pages they truncated or unlinked). Medians over the repetitions.", '');
  writes.push('| Shape | K | Wire | System | Ingest | Worker | Total | Cancelled |');
  writes.push('| --- | --: | --- | --- | --: | --: | --: | --: |');
  const writesJson: Record<string, unknown> = {};
  for (const shape of results.shapes) {
    const k = kMax;
    for (const wire of results.wires) {
      for (const contender of results.contenders) {
        const samples = samplesOf(shape.name, k, wire, contender.name);
        if (!samples?.length || (contender.role !== 'chunkyard' && contender.role !== 'peer') || contender.section === 's3') continue;
        const per = (role: string) => med(samples, (s) => (s.writeBytes[role] ?? Number.NaN) / s.bytes);
        const total = med(samples, writtenPerByte);
        const cancelled = med(samples, (s) => sumOf(s.cancelledWriteBytes, WRITERS) / s.bytes);
        writesJson[runKey(shape.name, k, wire, contender.name)] = { ingest: round(per('ingest'), 4), worker: round(per('worker'), 4), server: round(per('server'), 4), total: round(total, 4), cancelled: round(cancelled, 4) };
        const chunkyard = contender.role === 'chunkyard';
        writes.push(`| ${shape.name} | ${k} | ${wire} | ${contender.label} | ${chunkyard ? fmt(per('ingest'), 3) : '–'} | ${chunkyard ? fmt(per('worker'), 3) : '–'} | ${fmt(total, 3)} | ${fmt(cancelled, 3)} |`);
      }
    }
    for (const cy of chunkyards) {
      const tus = peer && peerWire ? samplesOf(shape.name, k, peerWire, peer.name) : undefined;
      const perWire = cy.wires.map((wire) => ({ wire, value: med(samplesOf(shape.name, k, wire, cy.name), writtenPerByte) }));
      const worst = Math.max(...perWire.map((w) => w.value));
      targets.push({
        name: `2. Bytes written per byte uploaded = 1.0, ${shape.name}, K=${k}, ${fsyncName(cy)}`,
        met: Number.isFinite(worst) ? Math.abs(worst - 1) <= 0.01 && perWire.every((w) => Math.abs(w.value - 1) <= 0.01) : undefined,
        detail: `${perWire.map((w) => `${w.wire} ${fmt(w.value, 3)}`).join(', ')} (ingest + worker write_bytes); @tus/server ${fmt(med(tus, writtenPerByte), 3)}`,
      });
    }
  }
  writes.push('');
  json.written = writesJson;

  // Tail
  const tail: string[] = [];
  tail.push('### Tail: last chunk acknowledged → file published', '');
  tail.push(`Per file: from its last answer at the client to the worker's \`merged\` line (the file published and its result recorded; the worker's log time), against the file's own upload (its first request sent to its last answer). Per run: from the run's last answer to its last \`merged\` line, against the run's upload (what end to end adds to ingest). Files of at least EARLY_MERGE_MIN_SIZE (${fmt(results.earlyMergeMinSize / MiB, 0)} MiB) are merged while they arrive, smaller ones once complete (their tail is their whole merge, queueing included). Medians over the repetitions; "worst file" is the largest share among a run's files.`, '');
  tail.push('| Shape | K | Wire | Chunkyard | Tail ms, median file | Upload ms, median file | Tail / upload, worst file | Run: last answer → last merged, ms | Share of the run |');
  tail.push('| --- | --: | --- | --- | --: | --: | --: | --: | --: |');
  const tailJson: Record<string, unknown> = {};
  for (const shape of results.shapes) {
    for (const k of results.concurrencies) {
      for (const cy of chunkyards) {
        for (const wire of cy.wires) {
          const samples = samplesOf(shape.name, k, wire, cy.name) ?? [];
          const figures = samples.map(tailFigures).filter((f) => f !== undefined);
          if (figures.length === 0) continue;
          const t = {
            tailMs: median(figures.map((f) => f.tailMs)),
            uploadMs: median(figures.map((f) => f.uploadMs)),
            share: median(figures.map((f) => f.share)),
            runTailMs: med(samples, (s) => s.runTail?.tailMs),
            runShare: med(samples, (s) => (s.runTail ? s.runTail.tailMs / s.runTail.uploadMs : undefined)),
          };
          tailJson[runKey(shape.name, k, wire, cy.name)] = { tailMs: round(t.tailMs, 1), uploadMs: round(t.uploadMs, 1), share: round(t.share, 4), runTailMs: round(t.runTailMs, 1), runShare: round(t.runShare, 4) };
          tail.push(`| ${shape.name} | ${k} | ${wire} | ${fsyncName(cy)} | ${fmt(t.tailMs, 0)} | ${fmt(t.uploadMs, 0)} | ${fmt(t.share * 100, 1)} % | ${fmt(t.runTailMs, 0)} | ${fmt(t.runShare * 100, 1)} % |`);
          if (k === kMax && shape.files === 1 && shape.fileSize >= results.earlyMergeMinSize) {
            targets.push({
              name: `4. Last chunk acknowledged → published ≤ 5 % of the upload, ${shape.name}, ${wire}, K=${k}, ${fsyncName(cy)}`,
              met: Number.isFinite(t.share) ? t.share <= 0.05 : undefined,
              detail: `${fmt(t.share * 100, 1)} % (${fmt(t.tailMs, 0)} ms after a ${fmt(t.uploadMs, 0)} ms upload)`,
            });
          }
        }
      }
    }
  }
  tail.push('');
  json.tail = tailJson;

  // Round trips
  const trips: string[] = [];
  trips.push('### Redis round trips per request (INFO commandstats, no worker running)', '');
  trips.push("Round trips = commandstats calls, less the commands Lua scripts run inside Redis (told apart with MONITOR), our own CONFIG RESETSTAT / INFO, and the blocking XREADs of the ingest's BullMQ QueueEvents listener, which re-arms its read on its own connection after each queue event (one per event per ingest instance, not on the request's path; shown apart). Scripts are warm (one upload first).", '');
  const kinds = Object.keys(ROUND_TRIP_KINDS) as RoundTripKind[];
  trips.push(`| Body | ${kinds.map((kind) => ROUND_TRIP_KINDS[kind]).join(' | ')} | Per POST, amortised over a 16-chunk upload | Client commands (MONITOR): first POST; early-merge POST; completing POST | Listener XREADs |`);
  trips.push(`| --- | ${kinds.map(() => '--:').join(' | ')} | --: | --- | --: |`);
  const rtJson: Record<string, unknown> = {};
  for (const body of Object.keys(results.roundTrips) as BodyKind[]) {
    const rt = results.roundTrips[body]!;
    const commands = (kind: RoundTripKind) => Object.entries(rt.details[kind].topLevel).map(([c, n]) => `${c} ${n / rt.requests[kind]}`).join(', ');
    const listener = kinds.reduce((sum, kind) => sum + rt.details[kind].listenerReads, 0);
    const monitorCheck = kinds.every((kind) => rt.details[kind].monitorRoundTrips === rt.details[kind].roundTrips);
    rtJson[body] = { ...Object.fromEntries(kinds.map((kind) => [kind, round(rt.perRequest[kind])])), perPostAmortised: round(rt.perPostAmortised), listenerReads: listener, monitorCheck };
    trips.push(`| ${body} | ${kinds.map((kind) => fmt(rt.perRequest[kind], 2)).join(' | ')} | ${fmt(rt.perPostAmortised, 3)} | ${commands('firstPost')}; ${commands('earlyMergePost')}; ${commands('completingPost')} | ${listener} |`);
    const posts: RoundTripKind[] = ['firstPost', 'post', 'earlyMergePost', 'completingPost'];
    targets.push({
      name: `5. ≤ 2 Redis round trips per chunk POST (${body})`,
      met: posts.every((kind) => rt.perRequest[kind] <= 2),
      detail: `first POST ${fmt(rt.perRequest.firstPost, 2)}, other POSTs ${fmt(rt.perRequest.post, 2)}, second range of a large upload ${fmt(rt.perRequest.earlyMergePost, 2)}, completing POST ${fmt(rt.perRequest.completingPost, 2)}; amortised ${fmt(rt.perPostAmortised, 3)}${monitorCheck ? '' : ' (MONITOR disagrees)'}`,
    });
    targets.push({
      name: `5. ≤ 1 Redis round trip per GET test (${body})`,
      met: Math.max(rt.perRequest.getPresent, rt.perRequest.getAbsent) <= 1,
      detail: `${fmt(rt.perRequest.getPresent, 2)} stored, ${fmt(rt.perRequest.getAbsent, 2)} absent`,
    });
  }
  trips.push('');
  json.roundTrips = rtJson;

  // Memory
  const memory: string[] = [];
  if (results.memory) {
    const m = results.memory;
    memory.push('### Memory while a big file is uploaded and merged', '');
    memory.push('| File | Body | K | Ingest MiB/s | End-to-end MiB/s | Peak RSS ingest MiB | Peak RSS worker MiB | Ingest CPU s | Worker CPU s | Written / uploaded | Tail ms |');
    memory.push('| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |');
    const tailMs = m.tails?.[0]?.tailMs;
    memory.push(`| ${fmt(m.fileSize / MiB / 1024, 0)} GiB | ${m.body} | ${m.concurrency} | ${fmt(m.ingestMiBps)} | ${fmt(m.e2eMiBps)} | ${fmt(m.rssMiB.ingest, 0)} | ${fmt(m.rssMiB.worker, 0)} | ${fmt(m.cpu.ingest, 1)} | ${fmt(m.cpu.worker, 1)} | ${fmt(writtenPerByte(m), 3)} | ${fmt(tailMs, 0)} |`, '');
    json.memory = { fileGiB: m.fileSize / MiB / 1024, body: m.body, concurrency: m.concurrency, ingestMiBps: round(m.ingestMiBps), e2eMiBps: round(m.e2eMiBps!), peakRssIngestMiB: round(m.rssMiB.ingest!, 1), peakRssWorkerMiB: round(m.rssMiB.worker!, 1), ingestCpuS: round(m.cpu.ingest!), workerCpuS: round(m.cpu.worker!), writtenPerByte: round(writtenPerByte(m), 4), tailMs: tailMs === undefined ? null : round(tailMs, 1) };
    // The target is in MB (10^6 bytes): 150 MB = 143.1 MiB.
    const mb = (mib: number | undefined) => ((mib ?? Infinity) * MiB) / 1e6;
    targets.push({ name: `5. Ingest and worker RSS < 150 MB while a ${fmt(m.fileSize / MiB / 1024, 0)} GiB file is uploaded and merged`, met: mb(m.rssMiB.ingest) < 150 && mb(m.rssMiB.worker) < 150, detail: `ingest ${fmt(m.rssMiB.ingest, 0)} MiB (${fmt(mb(m.rssMiB.ingest), 0)} MB), worker ${fmt(m.rssMiB.worker, 0)} MiB (${fmt(mb(m.rssMiB.worker), 0)} MB)` });
  } else {
    targets.push({ name: '5. Ingest and worker RSS < 150 MB while a 4 GiB file is uploaded and merged', met: undefined, detail: 'not run (BENCH_SIZE=full or BENCH_MEMORY=1)' });
  }

  // CPU cost
  const cost: string[] = [];
  const fits: Partial<Record<BodyKind, CostFit>> = {};
  if (results.costShape) {
    const [big, small] = results.costShape.chunkSizes;
    cost.push('### CPU cost per MiB and per chunk', '');
    cost.push(`Two end-to-end runs of the same ${fmt(results.costShape.bytes / MiB, 0)} MiB in chunks of ${big / 1024} KiB and ${small / 1024} KiB (K=${results.costShape.concurrency}, CHUNK_FSYNC=true), solved per repetition for cpu = a·MiB + b·chunks; Redis: its CPU per chunk request.`, '');
    cost.push('| Body | Ingest ms/MiB | Ingest ms/chunk | Worker ms/MiB | Worker ms/chunk | Redis ms/chunk |');
    cost.push('| --- | --: | --: | --: | --: | --: |');
    for (const body of ['multipart', 'octet'] as BodyKind[]) {
      const fit = costFit(results, body);
      if (!fit) continue;
      fits[body] = fit;
      cost.push(`| ${body} | ${fmt(fit.ingestMsPerMiB, 2)} | ${fmt(fit.ingestMsPerChunk, 3)} | ${fmt(fit.workerMsPerMiB, 2)} | ${fmt(fit.workerMsPerChunk, 3)} | ${fmt(fit.redisMsPerChunk, 3)} |`);
    }
    cost.push('');
    json.cpuCost = Object.fromEntries(Object.entries(fits).map(([body, fit]) => [body, Object.fromEntries(Object.entries(fit).map(([k, v]) => [k, round(v, 4)]))]));
  }

  const protocols = protocolSections(results);
  targets.push(...protocols.targets);
  json.s3 = protocols.json.s3;
  json.tus = protocols.json.tus;

  targets.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  out.push('### Targets (issues 11, 12, 13)', '');
  out.push('| Target | Met | Figure |', '| --- | --- | --- |');
  for (const t of targets) out.push(`| ${t.name} | ${t.met === undefined ? '–' : t.met ? 'met' : '**missed**'} | ${t.detail} |`);
  out.push('');
  json.targets = targets.map((t) => ({ name: t.name, met: t.met ?? null, detail: t.detail }));

  out.push(...protocols.lines, ...ratios, ...writes, ...tail, ...trips, ...memory, ...table, ...cost);
  const scaling = scalingOnPaper(results, fits);
  if (scaling) {
    out.push('### Scaling on paper (from this run)', '', scaling.text, '');
    json.scaling = scaling.figures;
  }
  return { markdown: out.join('\n'), json };
}

function scalingOnPaper(results: Results, fits: Partial<Record<BodyKind, CostFit>>): { text: string; figures: Record<string, number> } | undefined {
  const fit = fits.multipart ?? fits.octet;
  const octet = fits.octet;
  if (!fit) return undefined;
  const chunkMiB = (results.shapes[0]?.chunkSize ?? MiB) / MiB;
  const ingestCoreMultipart = (1000 / (fit.ingestMsPerMiB * chunkMiB + fit.ingestMsPerChunk)) * chunkMiB;
  const ingestCoreOctet = octet ? (1000 / (octet.ingestMsPerMiB * chunkMiB + octet.ingestMsPerChunk)) * chunkMiB : Number.NaN;
  const workerCore = 1000 / (fit.workerMsPerMiB + fit.workerMsPerChunk / chunkMiB);
  const redisChunksPerS = 1000 / fit.redisMsPerChunk;
  const redisMiBps = redisChunksPerS * chunkMiB;
  // The disk: the octet ceiling with fdatasync at the highest K, largest shape (every byte written once, flushed).
  const kMax = Math.max(...results.concurrencies);
  const fsyncCeiling = results.contenders.find((c) => c.role === 'ceiling' && c.fsync && c.wires.includes('octet'));
  const diskMiBps = median(results.shapes.flatMap((shape) => (fsyncCeiling ? results.runs[runKey(shape.name, kMax, 'octet', fsyncCeiling.name)] ?? [] : []).map((s) => s.ingestMiBps)));
  const figures = {
    chunkMiB,
    ingestCoreMiBpsMultipart: round(ingestCoreMultipart, 1),
    ingestCoreMiBpsOctet: round(ingestCoreOctet, 1),
    workerCoreMiBps: round(workerCore, 1),
    redisChunksPerSecond: round(redisChunksPerS, 0),
    redisMiBps: round(redisMiBps, 0),
    diskFsyncWriteMiBps: round(diskMiBps, 1),
  };
  const text = [
    `With ${chunkMiB} MiB chunks one ingest core handles about ${fmt(ingestCoreMultipart, 0)} MiB/s of multipart (${fmt(fit.ingestMsPerMiB, 2)} ms CPU per MiB + ${fmt(fit.ingestMsPerChunk, 2)} ms per chunk)`,
    `${Number.isFinite(ingestCoreOctet) ? ` and ${fmt(ingestCoreOctet, 0)} MiB/s of octet` : ''}; one worker core merges about ${fmt(workerCore, 0)} MiB/s (${fmt(fit.workerMsPerMiB, 2)} ms per MiB: reading the data file and SHA-256).`,
    ` N ingest instances and W workers, one core each, sustain min(N × ${fmt(ingestCoreMultipart, 0)}, W × ${fmt(workerCore, 0)}) MiB/s of CPU, so about one worker for every ${fmt(workerCore / ingestCoreMultipart, 1)} ingest instances.`,
    ` Redis spends ${fmt(fit.redisMsPerChunk, 3)} ms of its single thread per chunk (record-ranges.lua with its event, the quota and BullMQ jobs, the worker's peeks and begin/finish scripts), so it saturates near ${fmt(redisChunksPerS, 0)} chunks/s, ${fmt(redisMiBps, 0)} MiB/s at ${chunkMiB} MiB chunks.`,
    ` The disk: every byte is written once (at its offset in the upload's data file), and a Node server writing 1 MiB bodies with fdatasync reached ${fmt(diskMiBps, 0)} MiB/s here (the fsync ceiling, K=${kMax}), so that is what uploads with CHUNK_FSYNC=true can reach in total on this disk however many instances run.`,
    ` Smaller chunks move the limit towards Redis and the per-chunk CPU: at 64 KiB, Redis alone caps near ${fmt((redisChunksPerS * 64) / 1024, 0)} MiB/s.`,
  ].join('');
  return { text, figures };
}
