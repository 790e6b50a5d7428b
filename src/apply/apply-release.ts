// Applies a release (multi-partition) package into a folder: finds each partition's old image
// in the old release, checks every base hash and the payload signature before writing anything
// (a streamed package: its payload signature as the body arrives, before anything is moved in),
// writes each partition into a staging folder beside the outputs (resumable; release-staging.ts),
// and moves them all to `<partition>.img` only when every one matches its target sha256 — all or
// none. The output folder is locked (output-lock.ts) for the whole run.

import { lstat, readdir, realpath, rm } from 'node:fs/promises';
import { displayName } from '../transport/byte-range-source.js';
import { makeFolders, removeMadeFolders } from '../image/make-folders.js';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { UsageError, VerificationError, ioError } from '../errors/ota-error.js';
import { blockCountOf } from '../format/manifest-invariants.js';
import type { BlockSource } from '../image/block-source.js';
import { isUnchanged, type PartitionUpdate } from '../model/manifest.js';
import type { PackageReader } from '../package/package-reader.js';
import { detectRelease, openRelease, releaseFolder } from '../release/open-release.js';
import { groupPartitions } from '../release/release-partitions.js';
import type { ReleasePartition } from '../release/release-source.js';
import type { Reporter } from '../reporter.js';
import type { ApplyOptions } from './apply-options.js';
import { DEFAULT_CHECKPOINT_EVERY_BYTES, SCRATCH_BYTES, writePartition } from './apply-partition.js';
import { needsRawStaging } from './staged-sparse-output.js';
import { defaultOutputFormat } from './output-image.js';
import { checkBase } from './base-check.js';
import type { AppliedPartition, ReleaseApplyResult } from './apply-result.js';
import { checkFreeSpace } from './device-checks.js';
import { lockOutput, type OutputLock } from './output-lock.js';
import { fileIdsOf, type FileId } from './owned-file.js';
import { finishedAlready, moveIntoPlace, prepareStaging } from './release-staging.js';
import { isPartialName, sideFilesOf } from './side-files.js';

/** A partition with its old image opened and checked. */
interface Checked {
  readonly part: PartitionUpdate;
  readonly old: BlockSource | undefined;
  readonly oldSha256: string;
}

/** Applies `reader`'s release package to `options.oldPath` (a release) into the folder `options.outputPath`. */
export async function applyRelease(
  reader: PackageReader,
  options: ApplyOptions,
  reporter: Reporter,
): Promise<ReleaseApplyResult> {
  const { manifest } = reader;
  const bs = manifest.blockSizeBytes;
  const outDir = options.outputPath;
  const needsOld = manifest.partitions.some((p) => p.source);
  if (needsOld && !options.oldPath)
    throw new UsageError(
      'OLD_REQUIRED',
      `${displayName(options.packagePath)} is a delta package: pass the old release with --old`,
    );
  // An old image where a release is needed is the first thing wrong (the folder it sits in is no release).
  if (needsOld && (await detectRelease(options.oldPath!)) === undefined) {
    throw new UsageError(
      'OLD_NOT_RELEASE',
      `${displayName(options.packagePath)} updates a whole ${reader.targetHeader.releaseLayout} release: --old must be the old release (folder or layout file), not ${options.oldPath}`,
    );
  }
  // Whenever an old release is named — even for a full package — the output must stay out of it.
  if (options.oldPath) await refuseOutputInside(options.oldPath, outDir);
  if (options.oldPath && !needsOld)
    reporter.warn({
      code: 'OLD_NOT_USED',
      message: `${displayName(options.packagePath)} is a full package: --old ${options.oldPath} is not read`,
    });
  const release = needsOld ? await openRelease(options.oldPath!) : undefined;
  const checked: Checked[] = [];
  try {
    const oldByName = new Map(release ? groupPartitions(release).map((p) => [p.name, p]) : []);
    for (const part of manifest.partitions)
      checked.push(await checkPartition(part, release && oldByName.get(part.name)?.image, release?.path ?? '', bs));
    // A streamed body is hashed as it is applied: its signature is checked before the move below.
    if (!reader.bodyStreamed) await reader.verifyPayloadSignature();
    for (const part of manifest.partitions) await refuseNonFile(join(outDir, `${part.name}.img`));
    const created = await makeFolders(outDir).catch((err) => {
      throw ioError('create output folder', outDir, err);
    });
    // One apply at a time per output folder: staging and side files are touched by their owner only.
    let lock: OutputLock | undefined = await lockOutput(join(outDir, '.ota-lock'), outDir);
    const staging = join(outDir, `.ota-staging-${reader.metadataSha256.toString('hex').slice(0, 16)}`);
    try {
      const totalBytes = manifest.partitions.reduce((n, p) => n + blockCountOf(p.target.sizeBytes, bs) * bs, 0);
      await prepareStaging(staging, options.resume ?? false, reporter);
      // A sparse output of ops out of destination order is staged raw, then converted beside it.
      const stagedRawBytes =
        options.outputFormat === 'raw'
          ? 0
          : Math.max(
              0,
              ...manifest.partitions
                .filter((p) => needsRawStaging(p.operations))
                .map((p) => blockCountOf(p.target.sizeBytes, bs) * bs),
            );
      await checkFreeSpace(join(outDir, 'x'), totalBytes + stagedRawBytes + SCRATCH_BYTES);
      const forbidden = await fileIdsOf(checked.flatMap((c) => (c.old ? [c.old.path] : [])));
      const staged: AppliedPartition[] = [];
      for (const c of checked) staged.push(await stagePartition(c, reader, options, staging, forbidden, reporter));
      if (reader.bodyStreamed) await reader.verifyPayloadSignature();
      // Every partition verified: move them into place together (or not at all).
      const applied = await moveIntoPlace(staged, outDir, staging);
      await rm(staging, { recursive: true, force: true });
      return {
        kind: 'release',
        outputPath: outDir,
        targetId: reader.targetHeader.targetId,
        sizeBytes: applied.reduce((n, a) => n + a.sizeBytes, 0),
        operationCount: applied.reduce((n, a) => n + a.operationCount, 0),
        partitions: applied,
      };
    } catch (err) {
      // A failure (not an interruption) is final: nothing staged is kept, and a folder this run made
      // goes too — except when verified images could not be moved in, or --strict refused a warning
      // (a resume that must restart a partition): what is staged stays for --resume.
      const code = (err as { code?: string }).code ?? '';
      if (code !== 'RELEASE_NOT_MOVED' && !code.startsWith('STRICT_')) {
        await rm(staging, { recursive: true, force: true }).catch(() => undefined);
        await lock.release();
        lock = undefined;
        if (created) await removeMadeFolders(outDir, created);
      }
      throw err;
    } finally {
      await lock?.release();
    }
  } finally {
    for (const c of checked) await c.old?.close();
    await release?.close();
  }
}

/** Refuses an output folder that is the old release's folder or inside it (A/B never writes the source). */
async function refuseOutputInside(oldPath: string, outDir: string): Promise<void> {
  const oldRoot = await realpath(await releaseFolder(oldPath));
  const out = await realPathOfMaybeMissing(outDir);
  if (out === oldRoot || out.startsWith(oldRoot + sep)) {
    throw new UsageError(
      'OUTPUT_IS_OLD',
      `the output folder ${outDir} is inside the old release's folder ${oldRoot}; A/B apply never writes next to the source`,
    );
  }
}

/** The real path of `path`, resolving its nearest existing ancestor when it does not exist yet. */
async function realPathOfMaybeMissing(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await realpath(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(await realPathOfMaybeMissing(parent), basename(abs));
  }
}

/** An existing output path must be a regular file we may replace, never a folder, FIFO or device. */
async function refuseNonFile(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st && !st.isFile())
    throw new UsageError(
      'OUTPUT_NOT_FILE',
      `${path} exists and is not a regular file; remove it or choose another output folder`,
    );
}

/** Opens a partition's old image (when it has a source) and checks its hash. */
async function checkPartition(
  part: PartitionUpdate,
  entry: ReleasePartition | undefined,
  releasePath: string,
  bs: number,
): Promise<Checked> {
  if (!part.source) return { part, old: undefined, oldSha256: '' };
  if (!entry)
    throw new VerificationError(
      'WRONG_BASE',
      `the old release ${releasePath} has no image for partition ${part.name}, which the package updates`,
    );
  const old = await entry.open();
  try {
    const oldSha256 = await checkBase(old, part, bs);
    return { part, old, oldSha256 };
  } catch (err) {
    await old.close();
    if (err instanceof VerificationError)
      throw new VerificationError(err.code, `partition ${part.name}: ${err.message}`);
    throw err;
  }
}

/** Writes one partition to `<staging>/<name>.img`, or keeps it when a resumed run already finished it. */
async function stagePartition(
  c: Checked,
  reader: PackageReader,
  options: ApplyOptions,
  staging: string,
  forbidden: readonly FileId[],
  reporter: Reporter,
): Promise<AppliedPartition> {
  const { part, old } = c;
  const bs = reader.manifest.blockSizeBytes;
  const stagedPath = join(staging, `${part.name}.img`);
  const format =
    options.outputFormat ?? defaultOutputFormat(part.name, old?.format, part.target.sizeBytes, bs, reporter);
  const expected = Buffer.from(part.target.sha256).toString('hex');
  if (options.resume && (await finishedAlready(stagedPath, part, bs, expected, forbidden))) {
    reporter.warn({
      code: 'RESUMED',
      message: `partition ${part.name} was already written and verified by the interrupted run`,
    });
    return {
      name: part.name,
      outputPath: stagedPath,
      status: isUnchanged(part) ? 'unchanged' : part.source ? 'delta' : 'full',
      sizeBytes: part.target.sizeBytes,
      sha256: expected,
      operationCount: part.operations.length,
      outputFormat: format,
      outputKind: 'file',
      resumedFromOp: part.operations.length,
    };
  }
  return writePartition({
    reader,
    part,
    old,
    oldSha256: c.oldSha256,
    forbidden,
    destination: { kind: 'file', path: stagedPath },
    format,
    // A partition the interrupted run never reached has nothing to resume: it starts afresh, unwarned.
    resume: options.resume === true && (await reachedBefore(stagedPath)),
    everyBytes: options.checkpointEveryBytes ?? DEFAULT_CHECKPOINT_EVERY_BYTES,
    reporter,
  });
}

/** True when an earlier run left a checkpoint or a partial image of the staged `path`. */
async function reachedBefore(path: string): Promise<boolean> {
  const files = sideFilesOf(path);
  const names = await readdir(files.folder).catch(() => [] as string[]);
  return names.some((n) => n === basename(files.checkpointPath) || isPartialName(files, n));
}
