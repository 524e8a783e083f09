/** Turns an upload's Redis hash into the core's UploadRecord. */
import type { UploadRecord, UploadState } from '../core/upload.js';

const optionalNumber = (value: string | undefined) => (value === undefined || value === '' ? undefined : Number(value));

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function parseUploadRecord(hash: Record<string, string>): UploadRecord {
  const roundings = Number(hash.roundings ?? 3);
  const earlyMerge = hash.earlyMerge === 'started' || hash.earlyMerge === 'parked' ? hash.earlyMerge : undefined;
  return {
    uploadId: hash.uploadId ?? '',
    state: hash.state as UploadState,
    scope: hash.scope ?? '',
    identifier: hash.identifier ?? '',
    protocol: hash.protocol ?? '',
    size: optionalNumber(hash.size),
    layout: hash.layout === 'pieces' ? { kind: 'pieces', pieceSize: Number(hash.pieceSize), roundings } : { kind: 'append' },
    roundings,
    name: hash.name ?? '',
    relativePath: hash.relativePath ?? '',
    type: hash.type ?? '',
    metadata: parseJson<Record<string, string>>(hash.metadata, {}),
    partial: hash.partial === '1',
    concatOf: hash.concatOf ? parseJson<string[]>(hash.concatOf, []) : undefined,
    succeeds: hash.succeeds || undefined,
    storedBytes: Number(hash.stored ?? 0),
    storedRanges: Number(hash.ranges ?? 0),
    prefix: Number(hash.prefix ?? 0),
    storageKey: hash.storageKey ?? '',
    quotaSubject: hash.quotaSubject ?? '',
    assembly: hash.assembly || undefined,
    createdAt: Number(hash.createdAt ?? 0),
    expiresAt: Number(hash.expiresAt ?? 0),
    earlyMerge,
    result: hash.resultLocation
      ? {
          location: hash.resultLocation,
          ...(hash.resultBucket ? { bucket: hash.resultBucket } : {}),
          size: Number(hash.resultSize),
          sha256: hash.resultSha256 ?? '',
        }
      : undefined,
    error: hash.error || undefined,
  };
}
