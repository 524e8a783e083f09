/**
 * How much of the request bodies a process holds in memory, gathered for the file writes.
 *
 * Each write to a file is a round trip through libuv's thread pool, and on a busy host
 * each one also costs the event loop a thread wake-up: a 1 MiB chunk written in one
 * write instead of four costs the ingest about an eighth less CPU (bench/README.md, "The
 * writes"). But gathered bytes are held memory, and a client decides how many bodies are
 * in flight and how slowly they arrive. So every writer of the process gathers against
 * one budget: beyond it, writers write each piece as it comes (as without gathering), and
 * the memory held stays near the budget whatever the clients do. A piece count per writer
 * bounds the objects held too: a client trickling a body one byte per packet makes one
 * Buffer per byte.
 */
export interface GatherLimits {
  /** A writer writes once it holds this many bytes (one chunk of the usual size: one write). */
  bytesPerWriter: number;
  /** ... or this many pieces (socket reads: 16 per MiB when they are full). */
  piecesPerWriter: number;
  /** Gathered bytes of every writer together; beyond it, writers write each piece at once. */
  bytesPerProcess: number;
}

export const DEFAULT_GATHER_LIMITS: GatherLimits = {
  bytesPerWriter: 1024 * 1024,
  piecesPerWriter: 128,
  bytesPerProcess: 32 * 1024 * 1024,
};

export class GatherBudget {
  /** Bytes gathered and not yet written (or dropped) by any writer. */
  held = 0;

  constructor(readonly limits: GatherLimits = DEFAULT_GATHER_LIMITS) {}

  take(bytes: number): void {
    this.held += bytes;
  }

  give(bytes: number): void {
    this.held -= bytes;
  }

  /** Whether a writer holding `bytes` in `pieces` should write them now. */
  full(bytes: number, pieces: number): boolean {
    const { limits } = this;
    return bytes >= limits.bytesPerWriter || pieces >= limits.piecesPerWriter || this.held >= limits.bytesPerProcess;
  }
}

/** The budget every data-file writer of this process shares. */
export const processGatherBudget = new GatherBudget();
