import type { Readable } from 'node:stream';

/**
 * Calls `onLine` with every JSON line a stream prints (a service's pino logs), skipping
 * lines that are not JSON. Used by the tests and the benchmarks to follow real processes.
 */
export function onJsonLines<T = Record<string, unknown>>(stream: Readable, onLine: (line: T) => void): void {
  let buffered = '';
  stream.on('data', (data: Buffer) => {
    buffered += data.toString();
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let line: T;
      try {
        line = JSON.parse(text) as T;
      } catch {
        continue; // not a log line
      }
      onLine(line);
    }
  });
}
