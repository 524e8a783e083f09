/**
 * Where a merge writes: a temp file of its own beside the destination in
 * `files/<upload id>/`, then renamed to the sanitised file name. Only a whole, verified
 * file ever has the published name.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory } from '../shared/fs-durability.js';
import type { StorageLayout } from '../shared/storage-layout.js';
import { MergeOutput, type MergeOutputOptions } from './merge-output.js';
import { sanitizeFilename } from './sanitize-filename.js';

/** Temp files end so: the sweep removes those nothing touched for UPLOAD_TTL. */
export const MERGE_TEMP_SUFFIX = '.merging';

/** A new temp file for one attempt of a merge (`attempt` names it, e.g. the job id). */
export async function createMergeOutput(layout: StorageLayout, uploadId: string, attempt: string, options: MergeOutputOptions): Promise<MergeOutput> {
  const dir = layout.uploadFilesDir(uploadId);
  // A folder that was already there may hold what an interrupted attempt left.
  if ((await mkdir(dir, { recursive: true })) === undefined) await removeStaleTemps(dir);
  return MergeOutput.create(path.join(dir, `.${attempt}-${randomBytes(4).toString('hex')}${MERGE_TEMP_SUFFIX}`), options);
}

/**
 * Renames a finished temp file to its published name and flushes the folder, so the name
 * survives a power cut before the result is recorded and the chunks deleted. Returns the
 * published path.
 */
export async function publishMergedFile(tempPath: string, filename: string): Promise<string> {
  const dir = path.dirname(tempPath);
  const destination = path.join(dir, sanitizeFilename(filename));
  await rename(tempPath, destination);
  await fsyncDirectory(dir);
  return destination;
}

async function removeStaleTemps(dir: string): Promise<void> {
  const names = await readdir(dir);
  await Promise.all(names.filter((n) => n.endsWith(MERGE_TEMP_SUFFIX)).map((n) => rm(path.join(dir, n), { force: true })));
}
