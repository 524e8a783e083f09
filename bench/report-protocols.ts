/**
 * The report's sections for the contenders with a `section` (contenders.ts):
 * - S3 (issue 12): Chunkyard on Ceph RGW end to end against plain multipart uploads of the
 *   same bytes to the same RGW (target ≥ 70 %), and the S3 requests per upload by kind;
 * - tus (issue 13): Chunkyard's tus endpoint, with and without fsync, end to end against
 *   @tus/server: plain tus against plain tus is the target (≥ 1.3×); parallelUploads 4 with
 *   concatenation, which @tus/server cannot take, is reported beside its plain tus.
 * Ratios are taken within each repetition, then their median, as in report.ts.
 */
import { TUS_WIRES, type ContenderInfo, type Wire } from './contenders.js';
import type { RunSample } from './phases.js';
import { med, pairedRatio, pct, runKey, type Results, type Target } from './report.js';
import { MiB, fmt, fmtRatio, median, round } from './stats.js';

const TUS_CLIENT: Partial<Record<Wire, string>> = { tus: 'plain tus (one upload per file)', 'tus-parallel4': 'parallelUploads 4 (4 partial uploads + a final)' };

/** Requests per upload by kind, median over the repetitions. */
function requestsPerUpload(samples: RunSample[]): Record<string, number> {
  const kinds = [...new Set(samples.flatMap((s) => Object.keys(s.s3Requests ?? {})))].sort();
  return Object.fromEntries(kinds.map((kind) => [kind, median(samples.map((s) => (s.s3Requests?.[kind] ?? 0) / (s.files ?? 1)))]));
}

export function protocolSections(results: Results): { lines: string[]; targets: Target[]; json: { s3: unknown; tus: unknown } } {
  const lines: string[] = [];
  const targets: Target[] = [];
  const kMax = Math.max(...results.concurrencies);
  const samplesOf = (shape: string, k: number, wire: Wire, c: ContenderInfo | undefined) => (c ? results.runs[runKey(shape, k, wire, c.name)] : undefined);
  const cpu = (samples: RunSample[] | undefined, roles: string[]) => med(samples, (s) => roles.reduce((sum, role) => sum + (s.cpu[role] ?? 0), 0));

  // S3
  const s3Json: Record<string, unknown> = {};
  const s3Chunkyard = results.contenders.find((c) => c.role === 'chunkyard' && c.section === 's3');
  const s3Direct = results.contenders.find((c) => c.role === 'peer' && c.section === 's3');
  const s3Staged = results.contenders.find((c) => c.role === 'ceiling' && c.section === 's3');
  if (s3Chunkyard && s3Direct) {
    lines.push('### S3 (issue 12): Chunkyard on Ceph RGW against plain multipart uploads to it', '');
    lines.push(`Chunkyard (STORAGE=s3, one ingest + one worker) driven by the resumable.js client (octet, ${fmt((results.shapes[0]?.chunkSize ?? MiB) / MiB, 0)} MiB chunks), end to end until every file is merged into its published object and verified; against the same bytes sent by the bench straight to the same radosgw as multipart uploads (@aws-sdk/client-s3: CreateMultipartUpload, UploadPart of 5 MiB, CompleteMultipartUpload; the same K parts in flight). The bound: the same bytes sent by the bench through the least any server that stores each chunk durably, with no shared disk, must send while chunks are under S3's 5 MiB part minimum (each chunk a PutObject, read back with GetObject, sent again in a 5 MiB UploadPart: every byte through radosgw three times; no server, no Redis, no hashing). Ceph CPU: mon + OSD + radosgw over the run. Requests: radosgw's ops log over the run (the bench's own HEAD and DELETE of each published object left out), per upload.`, '');
    lines.push('| Shape | K | Chunkyard end to end MiB/s | Chunkyard ingest MiB/s | Direct multipart MiB/s | Chunkyard / direct | Bound (3 passes) MiB/s | Bound / direct | Chunkyard / bound | Ceph CPU s (Chunkyard / direct / bound) | Ingest + worker CPU s |');
    lines.push('| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |');
    const requestRows: string[] = [];
    for (const shape of results.shapes) {
      for (const k of results.concurrencies) {
        const ours = samplesOf(shape.name, k, 'octet', s3Chunkyard);
        const direct = samplesOf(shape.name, k, 's3-multipart', s3Direct);
        if (!ours?.length || !direct?.length) continue;
        const ratio = pairedRatio(ours, direct, (s) => s.e2eMiBps);
        const staged = samplesOf(shape.name, k, 's3-staged', s3Staged);
        const boundRatio = staged?.length ? pairedRatio(staged, direct, (s) => s.e2eMiBps) : Number.NaN;
        const ofBound = staged?.length ? pairedRatio(ours, staged, (s) => s.e2eMiBps) : Number.NaN;
        const key = `${shape.name}|${k}`;
        const perUpload = { chunkyard: requestsPerUpload(ours), direct: requestsPerUpload(direct) };
        s3Json[key] = { e2eMiBps: round(med(ours, (s) => s.e2eMiBps)), directMiBps: round(med(direct, (s) => s.e2eMiBps)), ratio: round(ratio), stagedMiBps: round(med(staged, (s) => s.e2eMiBps)), boundRatio: round(boundRatio), ofBound: round(ofBound), requestsPerUpload: perUpload };
        lines.push(`| ${shape.name} | ${k} | ${fmt(med(ours, (s) => s.e2eMiBps))} | ${fmt(med(ours, (s) => s.ingestMiBps))} | ${fmt(med(direct, (s) => s.e2eMiBps))} | ${pct(ratio)} | ${fmt(med(staged, (s) => s.e2eMiBps))} | ${pct(boundRatio)} | ${pct(ofBound)} | ${fmt(cpu(ours, ['ceph']), 2)} / ${fmt(cpu(direct, ['ceph']), 2)} / ${fmt(cpu(staged, ['ceph']), 2)} | ${fmt(cpu(ours, ['ingest', 'worker']), 2)} |`);
        const stagedCounts = staged?.length ? [['bound (3 passes)', requestsPerUpload(staged)] as const] : [];
        for (const [label, counts] of [['Chunkyard', perUpload.chunkyard], ['direct multipart', perUpload.direct], ...stagedCounts] as const) {
          const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
          const list = Object.entries(counts).map(([kind, n]) => `${kind} ${fmt(n, n % 1 === 0 ? 0 : 2)}`).join(', ');
          requestRows.push(`| ${shape.name} | ${k} | ${label} | ${list} | ${fmt(total, 1)} | ${fmt(total / (shape.fileSize / MiB), 2)} |`);
        }
        if (k === kMax) {
          targets.push({
            name: `12. S3: end to end ≥ 70 % of a direct multipart upload, ${shape.name}, octet, K=${k}`,
            met: Number.isFinite(ratio) ? ratio >= 0.7 : undefined,
            detail: `${pct(ratio)} (${fmt(med(ours, (s) => s.e2eMiBps))} against ${fmt(med(direct, (s) => s.e2eMiBps))} MiB/s); S3 requests per upload: Chunkyard ${fmt(Object.values(perUpload.chunkyard).reduce((a, b) => a + b, 0), 1)}, direct ${fmt(Object.values(perUpload.direct).reduce((a, b) => a + b, 0), 1)}${staged?.length ? `; the 3-pass bound for chunks under 5 MiB reaches ${pct(boundRatio)} of direct, Chunkyard ${pct(ofBound)} of it` : ''}`,
          });
        }
      }
    }
    lines.push('', '| Shape | K | System | S3 requests per upload, by kind (radosgw ops log) | Total per upload | Per MiB |', '| --- | --: | --- | --- | --: | --: |', ...requestRows, '');
  }

  // tus
  const tusJson: Record<string, unknown> = {};
  const tusSystems = results.contenders.filter((c) => c.role === 'chunkyard' && c.section === 'tus');
  const tusPeer = results.contenders.find((c) => c.role === 'peer' && c.wires.includes('tus'));
  /**
   * Plain tus sends one file's PATCHes one at a time, so with one file one request is in
   * flight whatever K is: flushing each before answering, no server can beat the plain
   * node:http server that only writes and fdatasyncs each body, one request in flight
   * (K = 1; runs of full mode only). Its rate against @tus/server's bounds the ratio.
   */
  const fdatasyncCeiling = results.contenders.find((c) => c.role === 'ceiling' && c.fsync && c.wires.includes('octet'));
  const fsyncBound = (shape: Results['shapes'][number]) => {
    const oneInFlight = shape.files === 1 ? samplesOf(shape.name, 1, 'octet', fdatasyncCeiling) : undefined;
    const peer = samplesOf(shape.name, kMax, 'tus', tusPeer);
    if (!oneInFlight?.length || !peer?.length) return '';
    const bound = med(oneInFlight, (s) => s.ingestMiBps) / med(peer, (s) => s.e2eMiBps);
    return `; with fsync one PATCH in flight is bounded by ${fdatasyncCeiling!.label} at K=1: ${fmt(med(oneInFlight, (s) => s.ingestMiBps))} MiB/s, ${fmtRatio(bound)} @tus/server`;
  };
  if (tusSystems.length > 0 && tusPeer) {
    lines.push('### tus (issue 13): Chunkyard\'s tus endpoint against @tus/server', '');
    lines.push("Chunkyard's `/files/` (filesystem) end to end until every file is merged and verified, with CHUNK_FSYNC=true (the default: every PATCH flushed before it is acknowledged) and CHUNK_FSYNC=false (what @tus/server + @tus/file-store does: it never fsyncs), against @tus/server until every PATCH is acknowledged and the files are complete on disk. The target is the same client against both servers (plain tus). @tus/server does not offer concatenation (its FileStore lacks the extension; a partial upload is refused), so tus-js-client's parallelUploads 4 is reported against Chunkyard only, next to @tus/server's plain tus of the same shape and K. PATCHes of one chunk each.", '');
    lines.push('| Shape | K | Chunkyard client | CHUNK_FSYNC | Chunkyard end to end MiB/s | Chunkyard ingest MiB/s | @tus/server (plain) MiB/s | Chunkyard / @tus/server | Requests per file | Ingest + worker CPU s | @tus/server CPU s |');
    lines.push('| --- | --: | --- | --- | --: | --: | --: | --: | --: | --: | --: |');
    for (const shape of results.shapes) {
      for (const k of results.concurrencies) {
        const peer = samplesOf(shape.name, k, 'tus', tusPeer);
        for (const wire of TUS_WIRES) {
          for (const system of tusSystems) {
            const ours = samplesOf(shape.name, k, wire, system);
            if (!ours?.length || !peer?.length) continue;
            const fsync = `CHUNK_FSYNC=${system.fsync}`;
            const ratio = pairedRatio(ours, peer, (s) => s.e2eMiBps);
            tusJson[runKey(shape.name, k, wire, system.name)] = { e2eMiBps: round(med(ours, (s) => s.e2eMiBps)), tusServerMiBps: round(med(peer, (s) => s.e2eMiBps)), ratio: round(ratio) };
            lines.push(`| ${shape.name} | ${k} | ${TUS_CLIENT[wire]} | ${system.fsync} | ${fmt(med(ours, (s) => s.e2eMiBps))} | ${fmt(med(ours, (s) => s.ingestMiBps))} | ${fmt(med(peer, (s) => s.e2eMiBps))} | ${fmtRatio(ratio)} | ${fmt(med(ours, (s) => s.requests / shape.files), 1)} | ${fmt(cpu(ours, ['ingest', 'worker']), 2)} | ${fmt(cpu(peer, ['server']), 2)} |`);
            if (k !== kMax) continue;
            const figure = `${fmtRatio(ratio)} (${fmt(med(ours, (s) => s.e2eMiBps))} against ${fmt(med(peer, (s) => s.e2eMiBps))} MiB/s)${wire === 'tus' && system.fsync ? fsyncBound(shape) : ''}`;
            targets.push(wire === 'tus'
              ? { name: `13. tus: end to end ≥ 1.3 × @tus/server, ${shape.name}, plain tus, K=${k}, ${fsync}`, met: Number.isFinite(ratio) ? ratio >= 1.3 : undefined, detail: figure }
              : { name: `13. tus: ${TUS_CLIENT[wire]} against Chunkyard, ${shape.name}, K=${k}, ${fsync}`, met: undefined, detail: `${figure} (reported: @tus/server cannot take it; compared with its plain tus)` });
          }
        }
      }
    }
    lines.push('', '\\* With one file and plain tus, one PATCH is in flight whatever K is; parallelUploads 4 keeps up to 4 (one per partial upload).', '');
  }
  return { lines, targets, json: { s3: s3Json, tus: tusJson } };
}
