// `apply --in-place`: rewrites the image where it is (FORMAT.md §4b). Before the first write:
// metadata signature, the safety proof (at open), target, rollback, device limits (stash peak
// included), payload signature, free space for the stash, and the image's state — the base, the
// finished target, or a state an interrupted run of this package leaves (checked op by op without
// writing); anything else is refused with nothing touched. Then one pass runs what is not done,
// stashes go to --stash-dir (locked for the run), and the image must end at the target hash.
// Re-running the same command after any interruption converges; no checkpoint is needed.
// A package URL is streamed (FORMAT.md §6a): the metadata alone is fetched for every check above
// but the payload signature, the blobs then arrive in op order, each checked against its sha256 in
// the signed manifest before use; the payload signature is checked after the image reaches the
// target hash, and only an exit 0 says the image may be used (there is no rename to gate on).

import { lstat, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UnsupportedError, UsageError, VerificationError, ioError } from '../errors/ota-error.js';
import { PackageReader } from '../package/package-reader.js';
import { HttpRangeSource } from '../transport/http-range-source.js';
import { openPackageSource } from '../transport/open-package-source.js';
import { displayName } from '../transport/byte-range-source.js';
import { CollectingReporter } from '../reporter.js';
import type { ApplyOptions } from './apply-options.js';
import type { InPlaceApplyResult } from './apply-result.js';
import { checkFreeSpace } from './device-checks.js';
import { checkDevice } from './device-gate.js';
import { checkStashLimit } from './device-limits.js';
import { InPlaceImage } from './in-place-image.js';
import { InPlaceRun } from './in-place-run.js';
import { lockOutput } from './output-lock.js';
import { fileOutputPath } from './output-destination.js';
import { sideFilesOf } from './side-files.js';
import { StashStore } from './stash-store.js';

/** Room beyond the stash peak: one stash temp and the lock. */
const STASH_SCRATCH_BYTES = 1024 * 1024;

/** Options of `apply --in-place`: the package, the device checks, the image and the stash folder. */
export type InPlaceApplyOptions = Omit<
  ApplyOptions,
  'oldPath' | 'outputPath' | 'outputFormat' | 'resume' | 'checkpointEveryBytes' | 'outputAsBlockDevice'
> & {
  /** The image to rewrite where it is: a regular file or a block device. */
  readonly inPlacePath: string;
  /** Folder for the stash (created if missing, removed at the end). */
  readonly stashDir: string;
};

/** Applies an in-place package to `options.inPlacePath`; see the file comment. */
export async function applyInPlace(options: InPlaceApplyOptions): Promise<InPlaceApplyResult> {
  const reporter = options.reporter ?? new CollectingReporter();
  const source = await openPackageSource(options.packagePath, options.http);
  const streamed = source instanceof HttpRangeSource ? source : undefined;
  const reader = await PackageReader.openSource(source, {
    pubkeyPath: options.pubkeyPath,
    reporter,
    metadataOnly: streamed !== undefined,
    // The body is streamed into the image: a server holding only the metadata prefix is refused now.
    bodyNeeded: true,
  });
  try {
    const header = reader.targetHeader;
    if (header.updateMode !== 'in-place')
      throw new UsageError(
        'NOT_IN_PLACE_PACKAGE',
        `${displayName(options.packagePath)} is an ${header.updateMode} package: its op order is not proven safe in place; apply it with -o (nothing was written)`,
      );
    if (header.releaseLayout !== '' || reader.manifest.partitions.length !== 1)
      throw new UnsupportedError(
        'IN_PLACE_UNSUPPORTED',
        'in-place apply writes one image; this package has several partitions',
      );
    const { profile } = await checkDevice(reader, options, reporter);
    const part = reader.manifest.partitions[0]!;
    const bs = reader.manifest.blockSizeBytes;
    // Proven at open against the package's own limit; the device's own limit is checked here.
    const peakStashBytes = checkStashLimit(reader.manifest, header, profile);
    // A streamed body is hashed as its blobs arrive; its signature is checked once the image is done.
    if (streamed) streamed.streamAhead = true;
    else await reader.verifyPayloadSignature();
    const existed = await lstat(options.stashDir).then(
      () => true,
      () => false,
    );
    // One apply at a time per image (an image file's lock beside the file its links lead to, as
    // -o's is, so a link and its file take one lock; a block device is opened exclusively by
    // InPlaceImage) and per stash folder.
    const imageLock = (await isRegularFile(options.inPlacePath))
      ? await lockOutput(sideFilesOf(await fileOutputPath(options.inPlacePath)).lockPath, options.inPlacePath)
      : undefined;
    let store: StashStore;
    let lock: { release(): Promise<void> };
    try {
      store = await StashStore.open(options.stashDir, reader.metadataSha256.toString('hex'));
      lock = await lockOutput(join(options.stashDir, '.ota-lock'), `stash folder ${options.stashDir}`);
    } catch (err) {
      await imageLock?.release();
      throw err;
    }
    let image: InPlaceImage | undefined;
    let released = false;
    try {
      image = await InPlaceImage.open(options.inPlacePath, part.target.sizeBytes, bs);
      const result = await rewrite(reader, image, options, store, peakStashBytes);
      if (streamed) await reader.verifyPayloadSignature();
      await store.removeStashes();
      await lock.release();
      released = true;
      const removed = await store.removeFolder();
      if (!removed)
        reporter.warn({
          code: 'STASH_DIR_KEPT',
          message: `${options.stashDir} holds files this applier did not make: the stash folder was left in place`,
        });
      return { ...result, targetId: header.targetId, stashFolderRemoved: removed };
    } catch (err) {
      // Refused before the first block was written (the image missing or of another size included):
      // leave no trace (a folder we made goes again). Once the image is touched, the stashes are
      // what a re-run needs: they stay.
      if (!image?.wroteAny && !existed) {
        await store.removeStashes();
        await lock.release();
        released = true;
        await store.removeFolder();
      }
      throw err;
    } finally {
      await image?.close();
      if (!released) await lock.release();
      await imageLock?.release();
    }
  } finally {
    await reader.close();
  }
}

async function rewrite(
  reader: PackageReader,
  image: InPlaceImage,
  options: { readonly inPlacePath: string; readonly stashDir: string },
  store: StashStore,
  peakStashBytes: number,
): Promise<Omit<InPlaceApplyResult, 'targetId' | 'stashFolderRemoved'>> {
  const part = reader.manifest.partitions[0]!;
  const bs = reader.manifest.blockSizeBytes;
  try {
    const sourceSha = part.source ? await image.sha256(part.source.dontCare) : undefined;
    const fresh = sourceSha !== undefined && sourceSha.equals(Buffer.from(part.source!.sha256));
    const targetSha = Buffer.from(part.target.sha256);
    const done = !fresh && (await image.sha256(part.target.dontCare)).equals(targetSha);
    const pass = (write: boolean) => new InPlaceRun(reader, part, image, store, bs, write, fresh);
    let counts = { opsRun: 0, opsSkipped: part.operations.length };
    if (!done) {
      // Not the base: prove, without writing, that an interrupted run of this package left it.
      if (!fresh) await pass(false).all();
      if (fresh || store.filesWritten === 0)
        await checkFreeSpace(join(options.stashDir, '.stash'), peakStashBytes + STASH_SCRATCH_BYTES);
      const run = pass(true);
      try {
        await run.all();
      } catch (err) {
        // Whatever stopped the writing pass, once a block is written the user must know the image
        // is neither the old one nor the new one, and how it is finished.
        const e = asIoError(err, options.inPlacePath);
        if (image.wroteAny && e instanceof Error)
          e.message += `; ${options.inPlacePath} is part-way updated: run the same command again to finish it, keeping ${options.stashDir} (do not use the image before)`;
        throw e;
      }
      counts = run.counts;
      const actual = await image.sha256(part.target.dontCare);
      if (!actual.equals(targetSha))
        throw new VerificationError(
          'OUTPUT_MISMATCH',
          `image ${options.inPlacePath} has sha256 ${actual.toString('hex').slice(0, 16)}… after the update, the package promises ${targetSha.toString('hex').slice(0, 16)}…; the stash folder is kept`,
        );
    }
    return {
      kind: 'in-place',
      partition: part.name,
      imagePath: options.inPlacePath,
      sizeBytes: part.target.sizeBytes,
      sha256: targetSha.toString('hex'),
      operationCount: part.operations.length,
      // A full package has no base to tell an interrupted run's state from: any image can start it.
      start: done ? 'done' : fresh ? 'base' : part.source ? 'interrupted' : 'full',
      ...counts,
      peakStashBytes,
      stashFilesWritten: store.filesWritten,
      stashBytesWritten: store.bytesWritten,
    };
  } catch (err) {
    throw asIoError(err, options.inPlacePath);
  }
}

/** A file-system failure as an I/O error naming the image; anything else (a bug must say so) as it is. */
function asIoError(err: unknown, path: string): unknown {
  return (err as NodeJS.ErrnoException).code && !(err as { exitCode?: number }).exitCode
    ? ioError('update in place', path, err)
    : err;
}

/** Whether `path` is a regular file (following a link); false when it is missing or anything else. */
async function isRegularFile(path: string): Promise<boolean> {
  return stat(path).then(
    (st) => st.isFile(),
    () => false,
  );
}
