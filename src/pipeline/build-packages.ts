// buildPackages: resolve targets and keys → prepare (open, hash, plan) → encode once on the
// worker pool → one signed, self-verified package per target (see produce-packages.ts). Inputs
// are two images, or two releases whose partitions all go into each target's one package.

import { lstat, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { propertiesPathOf } from '../package/package-properties.js';
import { refuseOutputOverInput, type NamedPath } from '../image/refuse-output-over-input.js';
import { isPartitionName, PARTITION_NAME_RULE } from '../model/partition-name.js';
import { onInterrupt } from '../image/interrupt-cleanup.js';
import { makeFolders, removeMadeFolders, removeMadeFoldersSync } from '../image/make-folders.js';
import { ImageError, UnsupportedError, UsageError, ioError } from '../errors/ota-error.js';
import type { PartitionLayout } from '../model/target-header.js';
import type { StorageType, TargetProfile } from '../model/target-profile.js';
import { detectRelease, openRelease } from '../release/open-release.js';
import type { ReleaseSource } from '../release/release-source.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import { chooseSigners } from '../signing/choose-key.js';
import { minorVersionOf } from '../format/format-version.js';
import { checkFormatLimit } from '../package/package-writer.js';
import { DEFAULT_TARGETS, resolveTargets } from '../targets/target-registry.js';
import type { BuildOptions, BuildResult } from './build-options.js';
import { candidateSpecs, keepWholeOptions } from './candidate-specs.js';
import { checkTargetSigning, signingFor } from './target-signing.js';
import { differByName } from '../diff/differ-registry.js';
import { EncodePool } from './encode-pool.js';
import { joinsFoundRuns, PreparedImages, runSizes } from './prepared-images.js';
import { preparedJob, producePackages, type PartitionJob } from './produce-packages.js';
import { releaseJobs, selectRelease } from './release-jobs.js';
import { TargetAssembly } from './target-assembly.js';

/** A timer that records each phase's milliseconds into `timingsMs`. */
export function phaseTimer(timingsMs: Record<string, number>) {
  return async <T>(phase: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timingsMs[phase] = (timingsMs[phase] ?? 0) + Math.round(performance.now() - t0);
    }
  };
}

/** Checks that the targets can share one plan; returns their common block size. */
export function sharedBlockSize(profiles: readonly TargetProfile[]): number {
  const blockSizeBytes = profiles[0]!.blockSizeBytes;
  for (const p of profiles) {
    // One plan serves every target: an in-place order (with its stashes) or the A/B one, not both.
    if (p.updateMode !== profiles[0]!.updateMode)
      throw new UnsupportedError(
        'IN_PLACE_UNSUPPORTED',
        `targets ${profiles[0]!.id} (${profiles[0]!.updateMode}) and ${p.id} (${p.updateMode}) use different update modes; build them separately or pass --update-mode`,
      );
    if (p.blockSizeBytes !== blockSizeBytes)
      throw new UsageError(
        'MIXED_BLOCK_SIZES',
        `targets ${profiles[0]!.id} and ${p.id} use different block sizes; build them separately`,
      );
  }
  return blockSizeBytes;
}

/** The package timestamp, warning when there is none or it is 0 (no rollback protection either way). */
export function packageTimestamp(timestampSeconds: number | undefined, reporter: Reporter): number {
  if (timestampSeconds === undefined)
    reporter.warn({
      code: 'NO_TIMESTAMP',
      message:
        'no SOURCE_DATE_EPOCH or --timestamp: the package timestamp is 0, so devices cannot use it against rollback',
    });
  else if (timestampSeconds === 0)
    reporter.warn({
      code: 'NO_TIMESTAMP',
      message:
        'the package timestamp is 0 (--timestamp 0 or SOURCE_DATE_EPOCH=0): it gives no rollback protection, and a device that has a timestamp refuses it as a downgrade',
    });
  return timestampSeconds ?? 0;
}

/** Builds one signed package per target. See BuildOptions for the inputs. */
export async function buildPackages(options: BuildOptions): Promise<BuildResult> {
  try {
    return await buildFromInputs(options);
  } finally {
    await options.pool?.close(); // closed already when the build used it; not when it failed before
  }
}

async function buildFromInputs(options: BuildOptions): Promise<BuildResult> {
  const oldKind = options.oldPath ? await detectRelease(options.oldPath) : undefined;
  const newKind = await detectRelease(options.newPath);
  if (options.oldPath && (oldKind === undefined) !== (newKind === undefined)) {
    const [release, image] = newKind ? [options.newPath, options.oldPath] : [options.oldPath, options.newPath];
    throw new UsageError(
      'MIXED_INPUTS',
      `${release} is a release but ${image} is a single image; pass two images or two releases`,
    );
  }
  if (newKind === undefined) return buildFromImages(options);
  // One rawprogram file is that LUN only, a folder every LUN: mixed, the other LUNs would look
  // removed (or new, carried in full).
  if (options.oldPath && oldKind === 'qualcomm-rawprogram' && newKind === 'qualcomm-rawprogram') {
    const [oldFolder, newFolder] = await Promise.all([isFolder(options.oldPath), isFolder(options.newPath)]);
    if (oldFolder !== newFolder) {
      const [file, folder] = oldFolder ? [options.newPath, options.oldPath] : [options.oldPath, options.newPath];
      throw new UsageError(
        'MIXED_INPUTS',
        `${file} is one rawprogram file (that LUN only) but ${folder} is a release folder (every LUN); give both releases the same way`,
      );
    }
  }
  const next = await openRelease(options.newPath);
  let old: ReleaseSource | undefined;
  try {
    old = options.oldPath ? await openRelease(options.oldPath) : undefined;
    if (old && old.layout !== next.layout)
      throw new ImageError(
        'RELEASE_LAYOUT_CHANGED',
        `${options.oldPath} is a ${old.layout} release but ${options.newPath} is ${next.layout}`,
      );
    return await buildFromReleases(options, old, next);
  } finally {
    await old?.close();
    await next.close();
  }
}

/** Builds for the chipset whose layout the release uses; a generic folder builds for the usual three. */
function defaultTargetsOf(release: ReleaseSource): string {
  return release.vendor ?? DEFAULT_TARGETS;
}

/** True when a profile's partitionLayout belongs to `family` (`qualcomm` holds `qualcomm-gpt`). */
function layoutOf(p: TargetProfile, family: string): boolean {
  return p.partitionLayout === family || p.partitionLayout.startsWith(`${family}-`);
}

/** A vendor release can only be flashed by its own chipset's profiles (or generic ones). */
function checkTargetsFit(release: ReleaseSource, profiles: readonly TargetProfile[]): void {
  const vendor = release.vendor;
  if (!vendor) return;
  for (const p of profiles) {
    if (!layoutOf(p, vendor) && !layoutOf(p, 'generic')) {
      throw new UsageError(
        'TARGET_LAYOUT_MISMATCH',
        `${release.path} is a ${release.layout} release; target ${p.id} expects ${p.partitionLayout} partitions (use --target ${vendor} or generic)`,
      );
    }
  }
}

function storageOf(release: ReleaseSource): StorageType | undefined {
  return release.storage === 'ufs' || release.storage === 'emmc' || release.storage === 'nand'
    ? release.storage
    : undefined;
}

/** The files a build reads that a package could land on: the images (or layout files) and key files. */
function inputFiles(options: BuildOptions): NamedPath[] {
  const keys = [
    ...(options.keyPath ? [options.keyPath] : []),
    ...(options.keyPaths ?? []),
    ...Object.values(options.keyPathByTarget ?? {}),
    ...Object.values(options.keyPathsByTarget ?? {}).flat(),
  ].filter((k) => !k.startsWith('pkcs11:'));
  return [
    { option: '--old', path: options.oldPath },
    { option: '--new', path: options.newPath },
    ...keys.map((path) => ({ option: '--key', path })),
  ];
}

/** A build's shared setup: targets, keys, candidate specs, timers. */
async function setup(
  options: BuildOptions,
  targets: string,
  release: ReleaseSource | undefined,
  layouts: readonly PartitionLayout[] = [],
) {
  const reporter = options.reporter ?? new CollectingReporter();
  // Refused now, not after hashing: the packages go into a folder.
  const out = await stat(options.outDir).catch(() => undefined);
  if (out && !out.isDirectory())
    throw new UsageError(
      'OUTPUT_NOT_FOLDER',
      `build writes one package per target into a folder: -o ${options.outDir} is an existing file`,
    );
  const timingsMs: Record<string, number> = {};
  const profiles = (await resolveTargets(targets)).map((p) =>
    options.updateMode ? { ...p, updateMode: options.updateMode } : p,
  );
  // What the packages will replace must be files: a rename over a folder would fail after encoding.
  // Nor may they be an input that happens to sit in the output folder under a package's name.
  const inputs = inputFiles(options);
  for (const p of profiles) {
    const pkg = join(options.outDir, `update-${p.id}.otapkg`);
    for (const path of [pkg, propertiesPathOf(pkg)]) {
      const st = await lstat(path).catch(() => undefined);
      if (st && !st.isFile())
        throw new UsageError('OUTPUT_NOT_FILE', `${path} exists and is not a regular file: build only replaces files`);
      if (st) await refuseOutputOverInput([{ option: 'package', path }], inputs);
    }
  }
  if (release) checkTargetsFit(release, profiles);
  if (release && profiles.some((p) => p.updateMode === 'in-place'))
    throw new UnsupportedError(
      'IN_PLACE_UNSUPPORTED',
      `${release.path}: in-place packages are built from two single images; a release is updated A/B (--update-mode ab)`,
    );
  const blockSizeBytes = sharedBlockSize(profiles);
  const specs = candidateSpecs(options, profiles);
  // A full package has no old image: a differ that needs one is never tried (said, not silent).
  if (!options.oldPath && options.differ !== undefined && options.differ !== 'auto') {
    if (differByName(options.differ).traits.withoutSource !== true)
      reporter.warn({
        code: 'DIFFER_NOT_USED',
        message: `--differ ${options.differ} needs an old image: without --old the package is full (REPLACE ops), and no differ is tried`,
      });
  }
  const timestampSeconds = packageTimestamp(options.timestampSeconds, reporter);
  const assemblies: TargetAssembly[] = [];
  checkTargetSigning(
    options,
    profiles.map((p) => p.id),
  );
  for (const p of profiles) {
    const { keys, signing } = signingFor(options, p.id);
    const platform = options.platform ?? release?.platform?.toLowerCase() ?? p.defaultPlatform;
    assemblies.push(
      new TargetAssembly(
        p,
        await chooseSigners(keys, signing, p.defaultSignatureAlgorithm, reporter),
        platform,
        release ? { layout: release.layout, storage: storageOf(release), partitionLayouts: layouts } : undefined,
      ),
    );
  }
  // What each package needs whatever its ops (in-place, several keys, a release): refused now, not after encoding.
  for (const a of assemblies)
    checkFormatLimit(minorVersionOf(a.targetHeader(), { partitions: [] }, a.signers.length), a.profile);
  const sizes = runSizes(profiles);
  const plan = {
    blockSizeBytes,
    ...sizes,
    joinFoundRuns: joinsFoundRuns(profiles, sizes.maxRunBytes),
    ...keepWholeOptions(specs, profiles),
    reporter,
    timed: phaseTimer(timingsMs),
  };
  const labels = {
    sourceVersion: options.sourceVersion ?? '',
    targetVersion: options.targetVersion ?? '',
    timestampSeconds,
  };
  return { reporter, timingsMs, profiles, specs, assemblies, plan, labels };
}

/** The build's worker pool: the caller's, or one of --jobs workers (default one per core). */
function createPool(options: BuildOptions): EncodePool {
  if (options.plugins) return EncodePool.create(1, options.plugins); // in-process: plugins cannot cross into workers
  return options.pool ?? EncodePool.create(options.jobs);
}

/** Runs producePackages on `pool` once the output folder exists; closes the pool. */
async function produce(
  options: BuildOptions,
  s: Awaited<ReturnType<typeof setup>>,
  partitions: readonly PartitionJob[],
  pool: EncodePool,
) {
  const selfCheckTotals = { ms: 0 };
  let created: string | undefined;
  let forgetFolders: (() => void) | undefined;
  try {
    created = await makeFolders(options.outDir).catch((err) => {
      throw ioError('create output folder', options.outDir, err);
    });
    const made = created;
    if (made) forgetFolders = onInterrupt(() => removeMadeFoldersSync(options.outDir, made));
    return await producePackages({
      selfCheckTotals,
      partitions,
      assemblies: s.assemblies,
      specs: s.specs,
      encoder: pool,
      outDir: options.outDir,
      reporter: s.reporter,
      timed: s.plan.timed,
      labels: s.labels,
      // The strictest target's stash limit: one order serves every target.
      ...(s.profiles[0]!.updateMode === 'in-place'
        ? { inPlace: { maxStashBytes: Math.min(...s.profiles.map((p) => p.maxStashBytes)) } }
        : {}),
    });
  } catch (err) {
    // A failed build leaves no trace: the folders it created go again (each only if still empty),
    // from the output folder up to the first one makeFolders made.
    if (created) await removeMadeFolders(options.outDir, created);
    throw err;
  } finally {
    forgetFolders?.();
    // Thread time of the self-check (decoding every kept blob), summed over workers.
    s.timingsMs.selfCheckMs = (s.timingsMs.selfCheckMs ?? 0) + Math.round(selfCheckTotals.ms);
    await pool.close();
  }
}

/**
 * The partition name the targets' profiles give a single image (one package each, one plan for
 * all): refused (`PARTITION_NAME_DIFFERS`) when they do not agree, rather than the first target's
 * name going into every package.
 */
function defaultPartitionNameOf(profiles: readonly TargetProfile[]): string {
  const names = [...new Set(profiles.map((p) => p.defaultPartitionName))];
  if (names.length > 1)
    throw new UsageError(
      'PARTITION_NAME_DIFFERS',
      `the targets name the image's partition differently (${profiles.map((p) => `${p.id}: ${p.defaultPartitionName}`).join(', ')}); choose one with --partition-name`,
    );
  return names[0]!;
}

async function buildFromImages(options: BuildOptions): Promise<BuildResult> {
  if (options.partitions !== undefined || options.excludePartitions !== undefined)
    throw new UsageError(
      'BAD_OPTION',
      '--partitions and --exclude choose partitions of a release; a single image is one partition (name it with --partition-name)',
    );
  if (options.partitionName !== undefined && !isPartitionName(options.partitionName))
    throw new UsageError(
      'BAD_OPTION',
      `--partition-name ${JSON.stringify(options.partitionName)} is not a partition name: ${PARTITION_NAME_RULE}`,
    );
  const s = await setup(options, options.targets ?? DEFAULT_TARGETS, undefined);
  const name = options.partitionName ?? defaultPartitionNameOf(s.profiles);
  // Started first: the workers load while the images are opened, then hash one image each.
  const pool = createPool(options);
  let prepared: PreparedImages;
  try {
    prepared = await PreparedImages.prepare({
      oldPath: options.oldPath,
      newPath: options.newPath,
      ...s.plan,
      ...(pool.jobs > 1 ? { hashImageFile: (job, progress) => pool.hashImage(job, progress) } : {}),
    });
  } catch (err) {
    await pool.close();
    throw err;
  }
  try {
    const packages = await produce(options, s, [preparedJob(name, prepared)], pool);
    const source = prepared.summary('source');
    const target = prepared.summary('target')!;
    const partition = { name, status: source ? 'changed' : 'full', ...(source ? { source } : {}), target } as const;
    return {
      kind: source ? 'delta' : 'full',
      input: 'image',
      ...(source ? { source } : {}),
      target,
      partitions: [partition],
      newSizeBytes: target.sizeBytes,
      packages,
      timingsMs: s.timingsMs,
    };
  } finally {
    await prepared.close();
  }
}

async function buildFromReleases(
  options: BuildOptions,
  old: ReleaseSource | undefined,
  next: ReleaseSource,
): Promise<BuildResult> {
  if (options.partitionName)
    throw new UsageError(
      'BAD_OPTION',
      '--partition-name names the partition of a single image; for releases use --partitions',
    );
  const reporter = options.reporter ?? new CollectingReporter();
  const selection = selectRelease({
    old,
    next,
    selection: { include: options.partitions, exclude: options.excludePartitions },
    reporter,
  });
  const s = await setup({ ...options, reporter }, options.targets ?? defaultTargetsOf(next), next, selection.layouts);
  const { jobs, summaries } = releaseJobs({ ...selection, plan: s.plan, reporter });
  const packages = await produce(options, s, jobs, createPool(options));
  return {
    kind: old ? 'delta' : 'full',
    input: next.layout,
    partitions: summaries,
    newSizeBytes: summaries.reduce((n, p) => n + p.target.sizeBytes, 0),
    packages,
    timingsMs: s.timingsMs,
  };
}

/** Whether `path` is a folder (following a link). */
async function isFolder(path: string): Promise<boolean> {
  return stat(path).then(
    (st) => st.isDirectory(),
    () => false,
  );
}
