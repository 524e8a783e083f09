/**
 * Names derived from what clients send. Identifiers are hostile and not unique (two
 * people's default resumable.js identifiers collide; a hand-written client sends `../..`),
 * so nothing is ever named after one directly: state keys and storage names use hashes.
 */
import { createHash } from 'node:crypto';
import type { Layout } from './layout.js';
import type { UploadDeclaration } from './upload.js';

function sha256Hex(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

/** Names an upload within the state store: a hash of (scope, the client's id). */
export function uploadKeyHash(scope: string, id: string): string {
  return sha256Hex(scope, id).slice(0, 32);
}

function layoutKey(layout: Layout, sizeLater: boolean): string {
  if (layout.kind === 'append') return 'append';
  // A size declared later goes with a piece size learnt from the first piece (Plupload):
  // the piece count the client declares stands in for both.
  if (sizeLater) return `pieces:later:${layout.roundings}:${layout.count ?? ''}`;
  return `pieces:${layout.pieceSize}:${layout.roundings}`;
}

/**
 * What every request of one upload must agree on, as one comparable string. The size is
 * part of it unless the client declares it later; the MIME type is not (clients send it
 * empty on some requests).
 */
export function uploadFingerprint(declaration: UploadDeclaration): string {
  const { protocol, size, layout, name, relativePath, succeeds } = declaration;
  const fields = [protocol, size ?? 'later', layoutKey(layout, size === undefined), name, relativePath];
  return JSON.stringify(succeeds === undefined ? fields : [...fields, succeeds]);
}

/**
 * Where an upload's bytes are stored: the same for every request of the upload, whichever
 * instance takes it, without asking the state store first (a round trip per chunk saved).
 * Two uploads under one id but with different metadata get different names, so a
 * conflicting request never writes into another upload's bytes.
 */
export function storageKeyOf(keyHash: string, fingerprint: string): string {
  return `${keyHash}-${sha256Hex(fingerprint).slice(0, 16)}`;
}

/** Storage keys are made here and nowhere else; the worker and the sweep refuse anything else. */
export const STORAGE_KEY_PATTERN = /^[0-9a-f]{32}(-[0-9a-f]{16})?$/;
