/**
 * Every system the throughput runs compare, as one list: a name (the key of its figures),
 * a label, its role in the comparisons, whether it flushes each body before answering,
 * the wires (client protocols) it serves, and how one run is done. The report finds its
 * comparisons by role, wire and fsync, so another system is one more entry here, e.g.:
 *
 * - Chunkyard on S3: `chunkyardContender('chunkyard-s3', 'Chunkyard, S3', s3System, redisPid)`,
 *   where s3System is `startChunkyard({ ..., env: { <the S3 driver's settings> } })` (and its
 *   merged files are verified where the S3 driver publishes them);
 * - Chunkyard's tus endpoint: a contender with `wires: ['tus']` whose run is `runTus`
 *   against Chunkyard's URL followed by `waitMerged` (the tail and e2e as for the others).
 */
import type { ChunkSource } from './chunk-source.js';
import type { BodyKind } from './load-client.js';
import { baselineRun, chunkyardRun, tusRun, type RunSample, type Shape } from './phases.js';
import type { Baseline, Chunkyard } from './systems.js';

/** How the client talks: resumable.js multipart, resumable.js octet (raw body), or tus (creation + PATCH). */
export type Wire = BodyKind | 'tus';

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

/** The ceiling that bounds a wire: raw bodies (octet, tus PATCH) against plain node:http, multipart against busboy. */
export function ceilingWire(wire: Wire): BodyKind {
  return wire === 'multipart' ? 'multipart' : 'octet';
}

/**
 * The runs of one cell (shape, K) in groups that keep what is compared close in time: each
 * Chunkyard run with the ceiling and the floor it is measured against (same wire, same
 * fsync), the peer after the first Chunkyard's groups, then anything left. On a shared
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
  contenders.filter((c) => c.role === 'chunkyard').forEach((cy, i) => {
    for (const wire of cy.wires) group([[cy, wire], [find('ceiling', ceilingWire(wire), cy.fsync), ceilingWire(wire)], [find('floor', ceilingWire(wire), cy.fsync), ceilingWire(wire)]]);
    if (i === 0) for (const peer of contenders.filter((c) => c.role === 'peer')) group(peer.wires.map((wire) => [peer, wire]));
  });
  for (const contender of contenders) group(contender.wires.map((wire) => [contender, wire]));
  return groups;
}

export function infoOf(contender: Contender): ContenderInfo {
  const { name, label, role, fsync, wires } = contender;
  return { name, label, role, fsync, wires };
}
