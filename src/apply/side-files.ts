// The files an apply keeps beside a regular-file output: the partial image (a fresh, unpredictable
// name per run, created with O_EXCL so a planted symlink is never followed) and the checkpoint
// that names it. Owns their names and the clean-up of partials an interrupted run left behind.

import { randomBytes } from 'node:crypto';
import { readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Paths of the side files of one output. */
export interface SideFiles {
  readonly folder: string;
  readonly checkpointPath: string;
  /** The lock an apply holds while it writes the output (output-lock.ts). */
  readonly lockPath: string;
  /** Partial images are `<partialPrefix><16 hex digits>` in `folder`. */
  readonly partialPrefix: string;
}

/** The side files of `outputPath`, in its folder. */
export function sideFilesOf(outputPath: string): SideFiles {
  const base = basename(outputPath);
  return {
    folder: dirname(outputPath),
    checkpointPath: join(dirname(outputPath), `.${base}.ota-checkpoint`),
    lockPath: join(dirname(outputPath), `.${base}.ota-lock`),
    partialPrefix: `.${base}.ota-partial-`,
  };
}

/** A new partial-image name (the file does not exist yet; create it with O_EXCL). */
export function newPartialName(s: SideFiles): string {
  return s.partialPrefix + randomBytes(8).toString('hex');
}

/** True when `name` is a partial-image name of `s` (and so stays inside its folder). */
export function isPartialName(s: SideFiles, name: string): boolean {
  return name.startsWith(s.partialPrefix) && /^[0-9a-f]{16}$/.test(name.slice(s.partialPrefix.length));
}

/** True when `name` is a checkpoint temp file of `s` that a killed run left (see writeCheckpoint). */
function isCheckpointTempName(s: SideFiles, name: string): boolean {
  const prefix = `${basename(s.checkpointPath)}.tmp-`;
  return name.startsWith(prefix) && /^[0-9a-f]{16}$/.test(name.slice(prefix.length));
}

/** Removes partial images and checkpoint temps earlier runs left, except `keep` (unlink never follows links). */
export async function removeStaleSideFiles(s: SideFiles, keep?: string): Promise<void> {
  const names = await readdir(s.folder).catch(() => [] as string[]);
  for (const name of names)
    if (name !== keep && (isPartialName(s, name) || isCheckpointTempName(s, name)))
      await unlink(join(s.folder, name)).catch(() => undefined);
}
