// Preloaded into a service process (BENCH_INGEST_NODE_ARGS="--import $PWD/bench/experiments/memory-sampler.mjs",
// MEMSAMPLE_DIR=/some/dir): samples memory every 25 ms and writes
// the samples at the RSS peak (and a time series every 1 s) to $MEMSAMPLE_DIR/<pid>.json.
import { readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
const dir = process.env.MEMSAMPLE_DIR ?? '/tmp';
const MiB = 1024 * 1024;
const out = `${dir}/${process.argv[1].includes('worker') ? 'worker' : 'ingest'}-${process.pid}.json`;
let peak = null;
const series = [];
let lastSeries = 0;
function status() {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) / 1024;
  return { VmRSS: kb('VmRSS'), RssAnon: kb('RssAnon'), RssFile: kb('RssFile'), VmHWM: kb('VmHWM') };
}
function sample() {
  const m = process.memoryUsage();
  const st = status();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, +(s.space_size / MiB).toFixed(1)]));
  const used = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, +(s.space_used_size / MiB).toFixed(1)]));
  const r = { t: Math.round(performance.now()), rss: +(m.rss / MiB).toFixed(1), heapTotal: +(m.heapTotal / MiB).toFixed(1), heapUsed: +(m.heapUsed / MiB).toFixed(1), external: +(m.external / MiB).toFixed(1), arrayBuffers: +(m.arrayBuffers / MiB).toFixed(1), ...st, spaces, used };
  if (!peak || r.rss > peak.rss) peak = r;
  if (r.t - lastSeries >= 1000) { series.push(r); lastSeries = r.t; }
}
function flush() {
  try { writeFileSync(out, JSON.stringify({ peak, first: series[0], series }, null, 0)); } catch {}
}
sample();
setInterval(sample, 25).unref();
setInterval(flush, 1000).unref();
process.on('exit', () => { sample(); flush(); });
