import { createHash } from 'node:crypto';

/**
 * An upload is named by the client's identifier within a scope: the operator's namespace,
 * or the subject of an upload token. Identifiers are hostile and not unique
 * (../shared/PROTOCOL.md), so nothing is ever named after one directly: storage and
 * Redis keys use this hash of (scope, identifier).
 */
export function uploadKeyHash(scope: string, identifier: string): string {
  return createHash('sha256').update(scope).update('\0').update(identifier).digest('hex').slice(0, 32);
}

/** Redis key names of one upload. The `{hash}` tag keeps them in one Redis Cluster slot. */
export interface UploadRedisKeys {
  /** Hash: metadata fixed by the first chunk, state, merge result. */
  readonly meta: string;
  /** Hash: chunk number -> name of the file that holds it. */
  readonly chunks: string;
}

export function uploadRedisKeys(prefix: string, keyHash: string): UploadRedisKeys {
  const base = `${prefix}:upload:{${keyHash}}`;
  return { meta: base, chunks: `${base}:chunks` };
}

/** BullMQ's prefix, with a hash tag so every key of the queue shares one cluster slot. */
export function queuePrefix(prefix: string): string {
  return `{${prefix}}`;
}

/** The pub/sub channel of upload events (publish-event.lua). */
export function uploadEventsChannel(prefix: string): string {
  return `${prefix}:upload-events`;
}
