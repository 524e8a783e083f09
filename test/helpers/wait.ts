/**
 * Waiting on real servers: poll a probe until it says yes, with a deadline, and fail
 * with a message that says what was awaited (plus whatever context the caller adds,
 * such as the tail of a daemon's log). Never a fixed sleep.
 */
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between probes. */
  intervalMs?: number;
  /** Checked before every probe: a reason to give up at once (e.g. "radosgw exited (1)"). */
  giveUpIf?: () => string | undefined;
  /** Extra text for the error (e.g. log tails), gathered only when the wait fails. */
  context?: () => Promise<string>;
}

/** Resolves with the first value of `probe` that is not undefined/false; a probe that throws counts as "not yet". */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, options: WaitOptions): Promise<T> {
  const started = Date.now();
  let lastError: unknown;
  for (;;) {
    const reason = options.giveUpIf?.();
    if (reason) throw await failure(`${what}: gave up, ${reason}`, undefined, options);
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() - started >= options.timeoutMs) {
      throw await failure(`${what}: not within ${options.timeoutMs} ms`, lastError, options);
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/**
 * A start-up's deadline shared by its steps: returns a function giving the milliseconds
 * left (at least 1), for each wait and each tool run in turn, so the whole start-up is
 * capped and not only each step.
 */
export function deadline(totalMs: number): () => number {
  const end = Date.now() + totalMs;
  return () => Math.max(1, end - Date.now());
}

async function failure(message: string, lastError: unknown, options: WaitOptions): Promise<Error> {
  const cause = lastError instanceof Error ? ` (last probe error: ${lastError.message})` : '';
  const context = options.context ? `\n${await options.context().catch((err: Error) => `(no context: ${err.message})`)}` : '';
  return new Error(`${message}${cause}${context}`);
}

/** The last `lines` lines of a text file (reads at most its last 64 KiB), or a note that it is missing. */
export async function tailOf(file: string, lines = 20): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return `== ${file}: (missing)`;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return text ? `== ${file} (last ${lines} lines):\n${text}` : `== ${file}: (empty)`;
  } finally {
    await handle.close();
  }
}
