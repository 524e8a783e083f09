// Preloaded into a service process (BENCH_INGEST_NODE_ARGS="--import $PWD/bench/experiments/gc-counter.mjs",
// GCCOUNT_DIR=/some/dir): counts garbage collections by kind (perf_hooks 'gc' entries) and
// their total pause, and writes them to $GCCOUNT_DIR/<ingest|worker>-<pid>.json every second.
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
const dir = process.env.GCCOUNT_DIR ?? '/tmp';
const out = `${dir}/${process.argv[1].includes('worker') ? 'worker' : 'ingest'}-${process.pid}.json`;
const KINDS = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
const counts = {};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = KINDS[entry.detail?.kind ?? entry.kind] ?? 'other';
    const c = (counts[kind] ??= { count: 0, ms: 0 });
    c.count++;
    c.ms += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });
setInterval(() => {
  try { writeFileSync(out, JSON.stringify(counts)); } catch {}
}, 1000).unref();
