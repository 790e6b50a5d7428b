// The staging folder of a release apply (`<out>/.ota-staging-<digest>`) and the move of its
// verified images into the output folder. The folder is created with a plain mkdir (fails if the
// name exists) and mode 0700; on resume it is reused only if lstat says it is a real folder we own
// with mode 0700 (a planted symlink or foreign folder is discarded by name, never followed), and
// a staged image only if it passes the owned-file checks. The move keeps what it displaces until
// every partition is in place, and rolls back if one rename fails.

import { chmod, lstat, mkdir, rename, rm, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { IoError, ioError } from '../errors/ota-error.js';
import { openImage } from '../image/open-image.js';
import type { PartitionUpdate } from '../model/manifest.js';
import type { Reporter } from '../reporter.js';
import type { AppliedPartition } from './apply-result.js';
import { imageSha256 } from '../hashing/image-sha256.js';
import { openOwnedFile, type FileId } from './owned-file.js';

/** Why an existing staging folder must not be reused, or undefined when it is ours. */
function stagingProblem(st: Stats): string | undefined {
  if (st.isSymbolicLink()) return 'it is a symlink';
  if (!st.isDirectory()) return 'it is not a folder';
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `it is owned by uid ${st.uid}`;
  if ((st.mode & 0o077) !== 0) return `its mode is ${(st.mode & 0o777).toString(8)}, not 700`;
  return undefined;
}

/** Makes `staging` ready: reuses a checked one on resume, else discards what is there and creates it. */
export async function prepareStaging(staging: string, resume: boolean, reporter: Reporter): Promise<void> {
  const st = await lstat(staging).catch(() => undefined);
  if (st) {
    const problem = stagingProblem(st);
    if (resume && !problem) return;
    if (resume)
      reporter.warn({
        code: 'RESUME_RESTART',
        message: `cannot resume (staging folder ${staging} is not ours: ${problem}): discarded, starting from the first operation`,
      });
    // rm removes a symlink itself and never follows links inside a folder.
    await rm(staging, { recursive: true, force: true }).catch((err) => {
      throw ioError('remove stale staging folder', staging, err);
    });
  }
  await mkdir(staging, { mode: 0o700 }).catch((err) => {
    throw ioError('create staging folder', staging, err);
  });
}

/** True when a staged image from an interrupted run is a file we made and hashes to the target. */
export async function finishedAlready(
  path: string,
  part: PartitionUpdate,
  bs: number,
  expectedHex: string,
  forbidden: readonly FileId[],
): Promise<boolean> {
  const opened = await openOwnedFile(path, 'read', forbidden);
  if ('problem' in opened) {
    // Not ours (or missing): the name, inside our checked staging folder, is removed; never followed.
    await unlink(path).catch(() => undefined);
    return false;
  }
  await opened.fh.close();
  // The staging folder is ours with mode 0700: nobody else can swap the name in between.
  const staged = await openImage(path).catch(() => undefined);
  if (!staged) return false;
  try {
    return (
      staged.sizeBytes === part.target.sizeBytes &&
      (await imageSha256(staged, bs, part.target.dontCare)).toString('hex') === expectedHex
    );
  } finally {
    await staged.close();
  }
}

/**
 * Moves every staged image to `<outDir>/<name>.img`. Every destination is checked first (missing or
 * a regular file); a displaced previous image is kept in the staging folder until all are in
 * place. If a rename fails, the moves done are undone and RELEASE_NOT_MOVED says the folder is as
 * it was and the staging folder is kept for `--resume` (or, if undoing failed too, what is where).
 */
export async function moveIntoPlace(
  staged: readonly AppliedPartition[],
  outDir: string,
  staging: string,
): Promise<AppliedPartition[]> {
  const keep = `the verified images stay in ${staging}: remove the cause and run apply --resume`;
  for (const a of staged) {
    const finalPath = join(outDir, `${a.name}.img`);
    const st = await lstat(finalPath).catch(() => undefined);
    if (st && !st.isFile())
      throw new IoError('RELEASE_NOT_MOVED', `${finalPath} is no longer a regular file; nothing was moved; ${keep}`);
    // An image replacing a file keeps its read and write permissions (the staged file is in this
    // run's private staging folder, so its name is still the file written).
    if (st)
      await chmod(a.outputPath, st.mode & 0o777).catch((err: unknown) => {
        throw new IoError(
          'RELEASE_NOT_MOVED',
          `cannot give ${a.outputPath} the permissions of ${finalPath} (${(err as NodeJS.ErrnoException).code ?? String(err)}); nothing was moved; ${keep}`,
        );
      });
  }
  const done: { finalPath: string; stagedPath: string; previous?: string; placed: boolean }[] = [];
  try {
    for (const a of staged) {
      const finalPath = join(outDir, `${a.name}.img`);
      const previous = join(staging, `.previous-${a.name}.img`);
      const had = (await lstat(finalPath).catch(() => undefined)) !== undefined;
      const step = { finalPath, stagedPath: a.outputPath, previous: had ? previous : undefined, placed: false };
      done.push(step);
      if (had) await rename(finalPath, previous);
      await rename(a.outputPath, finalPath);
      step.placed = true;
    }
  } catch (err) {
    const failed = done[done.length - 1]!.finalPath;
    const why = `renaming into ${failed} failed (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    const stuck: string[] = [];
    for (const step of done.reverse()) {
      try {
        if (step.placed) await rename(step.finalPath, step.stagedPath);
        if (step.previous) await rename(step.previous, step.finalPath);
      } catch {
        stuck.push(step.finalPath);
      }
    }
    if (stuck.length === 0)
      throw new IoError('RELEASE_NOT_MOVED', `${why}; the output folder ${outDir} is as it was; ${keep}`);
    throw new IoError(
      'RELEASE_NOT_MOVED',
      `${why}, and undoing failed for ${stuck.join(', ')}: those may hold the new image while their previous image is in ${staging} (.previous-*.img); the other partitions are as they were`,
    );
  }
  return staged.map((a) => ({ ...a, outputPath: join(outDir, `${a.name}.img`) }));
}
