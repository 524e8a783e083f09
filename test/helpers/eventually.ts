/**
 * Waiting in tests for something to become true, never for time: polls `probe` until it
 * returns a value that `accept` takes (by default, anything but undefined or false),
 * backing off from 5 ms to 100 ms, and fails after `timeoutMs` with the last value seen.
 * The deadline is generous on purpose: a busy machine is slow, not broken.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions<T> {
  timeoutMs?: number;
  accept?: (value: T) => boolean;
  /** Says what was awaited, in the failure message. */
  what?: string;
}

export async function eventually<T>(probe: () => Promise<T> | T, options: EventuallyOptions<T> = {}): Promise<T> {
  const { timeoutMs = 60_000, accept = (value: T) => value !== undefined && value !== false, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      lastError = undefined;
      if (accept(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not reached in ${timeoutMs} ms; last: ${lastError ? String(lastError) : JSON.stringify(last)}`);
    }
    await sleep(wait);
    wait = Math.min(wait * 2, 100);
  }
}
