/**
 * Every system the throughput runs compare, as one list: a name (the key of its figures),
 * a label, its role in the comparisons, whether it flushes each body before answering,
 * the wires (client protocols) it serves, and how one run is done. The report finds its
 * comparisons by role, wire and fsync, so another system is one more entry here, e.g.:
 *
 * - Chunkyard on S3 (issue 12): `chunkyardS3Contender`, compared with `s3DirectContender`
 *   (plain multipart uploads of the same bytes to the same RGW);
 * - Chunkyard's tus endpoint (issue 13): `chunkyardTusContender`, plain tus and tus-js-client's
 *   parallelUploads 4 (concatenation), compared with @tus/server.
 * Those carry a `section`: report-protocols.ts compares them; the issue-11 tables
 * (resumable.js on the filesystem against ceilings, floors and tus) leave them out.
 */
import type { ChunkSource } from './chunk-source.js';
import type { BodyKind } from './load-client.js';
import { baselineRun, chunkyardRun, tusRun, type RunSample, type Shape } from './phases.js';
import { chunkyardS3Run, s3DirectRun, s3StagedRun } from './phases-s3.js';
import { chunkyardTusRun } from './phases-tus.js';
import type { S3Store } from './s3-store.js';
import type { Baseline, Chunkyard } from './systems.js';

/**
 * How the client talks: resumable.js multipart, resumable.js octet (raw body), tus
 * (creation + PATCH, one upload per file), tus-parallel4 (tus-js-client's parallelUploads 4:
 * four partial uploads and a final one per file), S3 multipart straight to the store, or
 * each chunk through the store three times (s3-staged-client.ts).
 */
export type Wire = BodyKind | 'tus' | 'tus-parallel4' | 's3-multipart' | 's3-staged';

/** The wires of a tus client. */
export const TUS_WIRES: Wire[] = ['tus', 'tus-parallel4'];

/**
 * chunkyard: a system under test (every target is about these); ceiling: the fastest a
 * Node server stores the bytes here; floor: Chunkyard's own stack doing nothing else;
 * peer: another upload server (the end-to-end target's baseline).
 */
export type Role = 'chunkyard' | 'ceiling' | 'floor' | 'peer';

export interface ContenderInfo {
  name: string;
  label: string;
  role: Role;
  /** Each body is flushed (fdatasync) before it is acknowledged. */
  fsync: boolean;
  wires: Wire[];
  /** Compared in the S3 (issue 12) or tus (issue 13) section, not in the issue-11 tables. */
  section?: 's3' | 'tus';
}

export interface Contender extends ContenderInfo {
  run(shape: Shape, concurrency: number, wire: Wire, source: ChunkSource): Promise<RunSample>;
}

export function chunkyardContender(name: string, label: string, system: Chunkyard, redisPid: number): Contender {
  return {
    name, label, role: 'chunkyard', fsync: system.options.fsync, wires: ['multipart', 'octet'],
    run: (shape, k, wire, source) => chunkyardRun(system, redisPid, shape, k, wire as BodyKind, source),
  };
}

export function baselineContender(label: string, role: 'ceiling' | 'floor', baseline: Baseline, fsync: boolean, wires: BodyKind[]): Contender {
  return {
    name: baseline.name, label, role, fsync, wires,
    run: (shape, k, wire, source) => baselineRun(baseline, shape, k, wire as BodyKind, source),
  };
}

/** @tus/server with @tus/file-store, as its README sets it up (no fsync). */
export function tusContender(label: string, baseline: Baseline): Contender {
  return {
    name: baseline.name, label, role: 'peer', fsync: false, wires: ['tus'],
    run: (shape, k, _wire, source) => tusRun(baseline, shape, k, source),
  };
}

/** Chunkyard's tus endpoint (TUS_PATH) on the filesystem: plain tus and parallelUploads 4. */
export function chunkyardTusContender(name: string, label: string, system: Chunkyard, redisPid: number): Contender {
  return {
    name, label, role: 'chunkyard', fsync: system.options.fsync, wires: [...TUS_WIRES], section: 'tus',
    run: (shape, k, wire, source) => chunkyardTusRun(system, redisPid, shape, k, wire === 'tus-parallel4' ? 4 : 1, source),
  };
}

/** Chunkyard with STORAGE=s3, resumable.js octet bodies (the default client case). */
export function chunkyardS3Contender(name: string, label: string, system: Chunkyard, store: S3Store, redisPid: number): Contender {
  return {
    name, label, role: 'chunkyard', fsync: false, wires: ['octet'], section: 's3',
    run: (shape, k, wire, source) => chunkyardS3Run(system, store, redisPid, shape, k, wire as BodyKind, source),
  };
}

/** The S3 baseline: plain multipart uploads straight to the same store. */
export function s3DirectContender(label: string, store: S3Store): Contender {
  return {
    name: 's3-direct', label, role: 'peer', fsync: false, wires: ['s3-multipart'], section: 's3',
    run: (shape, k, _wire, source) => s3DirectRun(store, shape, k, source),
  };
}

/** The S3 bound for small chunks: each stored as an object, read back and sent again in a part. */
export function s3StagedContender(label: string, store: S3Store): Contender {
  return {
    name: 's3-staged', label, role: 'ceiling', fsync: false, wires: ['s3-staged'], section: 's3',
    run: (shape, k, _wire, source) => s3StagedRun(store, shape, k, source),
  };
}

/** The ceiling that bounds a wire: raw bodies (octet, tus PATCH) against plain node:http, multipart against busboy. */
export function ceilingWire(wire: Wire): BodyKind {
  return wire === 'multipart' ? 'multipart' : 'octet';
}

/**
 * The runs of one cell (shape, K) in groups that keep what is compared close in time: each
 * Chunkyard run with the ceiling and the floor it is measured against (same wire, same
 * fsync); the S3 contender in one group with its baseline in the middle and its bound
 * last; the tus
 * contenders' plain tus around @tus/server (or @tus/server alone after the first Chunkyard's
 * groups), then their other clients; then anything left. On a shared
 * machine the load changes within seconds; a ratio of two runs far apart in a cell measures
 * that as much as the systems.
 */
export function cellGroups(contenders: Contender[]): { contender: Contender; wire: Wire }[][] {
  const seen = new Set<string>();
  const groups: { contender: Contender; wire: Wire }[][] = [];
  const group = (runs: [Contender | undefined, Wire][]) => {
    const fresh = runs.filter(([c, wire]) => c && !seen.has(`${c.name}|${wire}`)).map(([c, wire]) => ({ contender: c!, wire }));
    for (const run of fresh) seen.add(`${run.contender.name}|${run.wire}`);
    if (fresh.length > 0) groups.push(fresh);
  };
  const find = (role: Role, wire: Wire, fsync: boolean) => contenders.find((c) => c.role === role && c.fsync === fsync && c.wires.includes(wire));
  const peerOf = (wire: Wire) => contenders.find((c) => c.role === 'peer' && c.wires.includes(wire));
  const tusSystems = contenders.filter((c) => c.role === 'chunkyard' && c.section === 'tus');
  const tusHere = tusSystems.length > 0;
  contenders.filter((c) => c.role === 'chunkyard').forEach((cy, i) => {
    // S3 runs in one group around their baseline (its run between theirs); every tus
    // system's plain tus around @tus/server, then their other clients; the others each with
    // their ceiling and floor.
    if (cy.section === 's3') group([[cy, cy.wires[0]!], [peerOf('s3-multipart'), 's3-multipart'], [find('ceiling', 's3-staged', false), 's3-staged']]);
    else if (cy.section === 'tus') {
      if (cy !== tusSystems[0]) return;
      group([[cy, 'tus'], [peerOf('tus'), 'tus'], ...tusSystems.slice(1).map((other): [Contender, Wire] => [other, 'tus'])]);
      group(tusSystems.flatMap((system) => system.wires.filter((wire) => wire !== 'tus').map((wire): [Contender, Wire] => [system, wire])));
    } else for (const wire of cy.wires) group([[cy, wire], [find('ceiling', ceilingWire(wire), cy.fsync), ceilingWire(wire)], [find('floor', ceilingWire(wire), cy.fsync), ceilingWire(wire)]]);
    // Without a tus contender, @tus/server runs after the first Chunkyard's groups.
    if (i === 0 && !tusHere) group([[peerOf('tus'), 'tus']]);
  });
  for (const contender of contenders) group(contender.wires.map((wire) => [contender, wire]));
  return groups;
}

export function infoOf(contender: Contender): ContenderInfo {
  const { name, label, role, fsync, wires, section } = contender;
  return { name, label, role, fsync, wires, ...(section ? { section } : {}) };
}
