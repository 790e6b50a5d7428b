// The reference applier (A/B style). Order matters for safety: metadata signature, target and
// platform, anti-rollback, base image hash, payload signature and free space are all checked
// before anything is written; the old image is opened read-only; the output (raw or Android
// sparse) goes to a partial file beside the destination and is renamed into place only when
// its sha256 matches. Raw outputs keep a checkpoint so `resume` continues after an interruption.

import { basename, dirname, join } from 'node:path';
import { UnsupportedError, UsageError } from '../errors/ota-error.js';
import { blockCountOf } from '../format/manifest-invariants.js';
import type { BlockSource } from '../image/block-source.js';
import { openImage } from '../image/open-image.js';
import { PackageReader } from '../package/package-reader.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import {
  DEFAULT_CHECKPOINT_EVERY_BYTES,
  SCRATCH_BYTES,
  applySteps,
  checkBase,
  writeOutput,
} from './apply-partition.js';
import { sameFile } from './same-file.js';
import { applyRelease } from './apply-release.js';
import { resumePoint } from './resume-point.js';
import {
  checkDeviceIdentity,
  checkFreeSpace,
  checkNotDowngrade,
  readDeviceState,
  type DeviceState,
} from './device-checks.js';
import type { OutputFormat } from './output-image.js';

/** Options of `apply`. */
export interface ApplyOptions {
  readonly packagePath: string;
  /** Old image (or release, for release packages); required for delta packages. Opened read-only. */
  readonly oldPath?: string;
  /** The new image; for a release package, the folder that receives `<partition>.img` files. */
  readonly outputPath: string;
  readonly pubkeyPath?: string | readonly string[];
  /** Refuse packages for any other target id (aliases accepted). */
  readonly deviceTarget?: string;
  /** Refuse packages for any other SoC/platform label. */
  readonly devicePlatform?: string;
  /** Refuse packages older than this (seconds); see also `deviceStatePath`. */
  readonly deviceTimestampSeconds?: number;
  /** JSON file `{"target","platform","timestampSeconds"}`; explicit options win over it. */
  readonly deviceStatePath?: string;
  readonly allowDowngrade?: boolean;
  /** Container of the output; default: the old image's (`sparse` for a sparse --old), else `raw`. */
  readonly outputFormat?: OutputFormat;
  /** Continue an interrupted apply from its checkpoint (raw output only). */
  readonly resume?: boolean;
  /** Destination bytes between checkpoints (default 64 MiB). */
  readonly checkpointEveryBytes?: number;
  readonly reporter?: Reporter;
}

/** One partition `apply` wrote. */
export interface AppliedPartition {
  readonly name: string;
  readonly outputPath: string;
  /** `delta`, `full`, or `unchanged` (a verified copy of the old image). */
  readonly status: 'delta' | 'full' | 'unchanged';
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly operationCount: number;
  readonly outputFormat: OutputFormat;
  /** Operations skipped because a verified checkpoint covered them. */
  readonly resumedFromOp: number;
}

/**
 * What `apply` produced. For a single image the top-level fields describe it; for a release
 * package `outputPath` is the folder and `partitions` lists each `<partition>.img` written.
 */
export interface ApplyResult {
  readonly outputPath: string;
  readonly targetId: string;
  /** The single image's partition name; '' for a release package. */
  readonly partition: string;
  readonly sizeBytes: number;
  /** The single image's sha256; '' for a release package. */
  readonly sha256: string;
  readonly operationCount: number;
  /** The output container; `mixed` when a release's partitions differ. */
  readonly outputFormat: OutputFormat | 'mixed';
  readonly resumedFromOp: number;
  readonly partitions: readonly AppliedPartition[];
}

/** Applies a package; see the file comment for the guarantees. */
export async function applyPackage(options: ApplyOptions): Promise<ApplyResult> {
  const reporter = options.reporter ?? new CollectingReporter();
  const reader = await PackageReader.open(options.packagePath, { pubkeyPath: options.pubkeyPath, reporter });
  let old: BlockSource | undefined;
  try {
    const fromFile = options.deviceStatePath ? await readDeviceState(options.deviceStatePath) : {};
    const device: DeviceState = {
      target: options.deviceTarget ?? fromFile.target,
      platform: options.devicePlatform ?? fromFile.platform,
      timestampSeconds: options.deviceTimestampSeconds ?? fromFile.timestampSeconds,
    };
    checkDeviceIdentity(reader.targetHeader, device);
    checkNotDowngrade(reader.manifest, device, options.allowDowngrade ?? false);
    if (reader.targetHeader.releaseLayout !== '') return await applyRelease(reader, options, reporter);
    if (reader.manifest.partitions.length !== 1) {
      throw new UnsupportedError(
        'MULTI_PARTITION',
        `package holds ${reader.manifest.partitions.length} partitions but no release layout; this applier writes one image`,
      );
    }
    const part = reader.manifest.partitions[0]!;
    // Even a full package never replaces an old image the caller named.
    if (options.oldPath && (await sameFile(options.oldPath, options.outputPath)))
      throw new UsageError('OUTPUT_IS_OLD', 'the output must not be the old image (A/B apply never writes the source)');
    let oldSha256 = '';
    if (part.source) {
      if (!options.oldPath)
        throw new UsageError(
          'OLD_REQUIRED',
          `${options.packagePath} is a delta package: pass the old image with --old`,
        );
      old = await openImage(options.oldPath);
      oldSha256 = await checkBase(old, part, reader.manifest.blockSizeBytes);
    }
    await reader.verifyPayloadSignature();
    const format = options.outputFormat ?? (old?.format === 'sparse' ? 'sparse' : 'raw');
    const bs = reader.manifest.blockSizeBytes;
    const partialPath = join(dirname(options.outputPath), `.${basename(options.outputPath)}.ota-partial`);
    const checkpointPath = join(dirname(options.outputPath), `.${basename(options.outputPath)}.ota-checkpoint`);
    const steps = applySteps(part, bs);
    const state = await resumePoint({
      resume: options.resume ?? false,
      format,
      partialPath,
      checkpointPath,
      part,
      steps,
      bs,
      packageDigest: reader.metadataSha256.toString('hex'),
      oldSha256,
      reporter,
    });
    if (state.completedOps === 0)
      await checkFreeSpace(options.outputPath, blockCountOf(part.target.sizeBytes, bs) * bs + SCRATCH_BYTES);
    const sha256 = await writeOutput({
      reader,
      part,
      steps,
      old,
      outputPath: options.outputPath,
      partialPath,
      checkpointPath,
      format,
      state,
      oldSha256,
      everyBytes: options.checkpointEveryBytes ?? DEFAULT_CHECKPOINT_EVERY_BYTES,
    });
    const applied = {
      name: part.name,
      outputPath: options.outputPath,
      status: part.source ? 'delta' : 'full',
      sizeBytes: part.target.sizeBytes,
      sha256,
      operationCount: part.operations.length,
      outputFormat: format,
      resumedFromOp: state.completedOps,
    } as const;
    return { ...applied, targetId: reader.targetHeader.targetId, partition: part.name, partitions: [applied] };
  } finally {
    await old?.close();
    await reader.close();
  }
}
