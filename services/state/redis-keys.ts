/**
 * Every Redis key and channel name Chunkyard uses, built here and nowhere else.
 * All keys of one upload share the `{key hash}` tag, so they live in one Redis Cluster
 * slot and one Lua script may touch them all; a client's quota keys share a tag of their
 * own; BullMQ's prefix is tagged too, so each queue's keys share a slot.
 */
import { createHash } from 'node:crypto';

export interface UploadKeys {
  /** Hash: metadata fixed by the first request, state, merge result. */
  readonly meta: string;
  /** Hash: offset -> length (or length|location) of each stored range. */
  readonly ranges: string;
  /** String: the write lock's fencing token (tus PATCH), with a lease. */
  readonly lock: string;
  /** Set: tus final uploads waiting for this partial upload. */
  readonly finals: string;
  /** Hash: partial id -> size, of a tus final upload's partials counted so far. */
  readonly parts: string;
  /** String, short-lived: the sweep is removing old bytes under this key (claim-for-sweep.lua). */
  readonly sweeping: string;
}

export function uploadKeys(prefix: string, keyHash: string): UploadKeys {
  const base = `${prefix}:upload:{${keyHash}}`;
  return { meta: base, ranges: `${base}:ranges`, lock: `${base}:lock`, finals: `${base}:finals`, parts: `${base}:parts`, sweeping: `${base}:sweeping` };
}

export function quotaKeys(prefix: string, subject: string): { entries: string; bytes: string } {
  const tag = createHash('sha256').update(subject).digest('hex').slice(0, 24);
  const base = `${prefix}:quota:{${tag}}`;
  return { entries: base, bytes: `${base}:bytes` };
}

/** BullMQ's prefix, with a hash tag so every key of a queue shares one cluster slot. */
export function queuePrefix(prefix: string): string {
  return `{${prefix}}`;
}

/** The pub/sub channel of upload events (published by the Lua scripts). */
export function uploadEventsChannel(prefix: string): string {
  return `${prefix}:upload-events`;
}
