/** Small statistics and formatting helpers for the benchmark report. */
import type { LoadResult } from './load-client.js';

export const MiB = 1024 * 1024;

export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/**
 * The figures every run reports from its load: the ingest rate (to the last answer), the end to
 * end rate (to `end`, when the last file was found published) and the latency percentiles.
 */
export function loadFigures(load: Pick<LoadResult, 'bytes' | 'requests' | 'startedAt' | 'finishedAt' | 'latenciesMs'>, end: number) {
  const mib = load.bytes / MiB;
  return {
    bytes: load.bytes,
    requests: load.requests,
    ingestMiBps: mib / ((load.finishedAt - load.startedAt) / 1000),
    e2eMiBps: mib / ((end - load.startedAt) / 1000),
    p50Ms: percentile(load.latenciesMs, 50),
    p99Ms: percentile(load.latenciesMs, 99),
  };
}

/** Rounds for the JSON line: 3 significant decimals are plenty on a noisy machine. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function fmt(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}

export function fmtRatio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(2)}×`;
}
