// compareCodecs: builds one real package per codec/differ combination for one target and
// measures each. The images are opened, hashed and planned once (PreparedImages); each
// combination is one producePackages run over that plan, and encoder work is shared through
// a CachingEncoder, so N combinations cost far less than N builds.

import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OtaError, UsageError, ioError } from '../errors/ota-error.js';
import { onInterrupt, removeNowSync } from '../image/interrupt-cleanup.js';
import type { TargetProfile } from '../model/target-profile.js';
import { phaseTimer, sharedBlockSize } from '../pipeline/build-packages.js';
import { keepWholeOptions } from '../pipeline/candidate-specs.js';
import { EncodePool } from '../pipeline/encode-pool.js';
import { joinsFoundRuns, PreparedImages, runSizes } from '../pipeline/prepared-images.js';
import type { CandidateSpec } from '../planner/candidates.js';
import { detectRelease } from '../release/open-release.js';
import { CollectingReporter } from '../reporter.js';
import { chooseSigner } from '../signing/choose-key.js';
import { resolveTargets } from '../targets/target-registry.js';
import { blockMapOf, type BlockMap } from '../inspect/block-map.js';
import { CachingEncoder } from './caching-encoder.js';
import { warmUpPool } from './warm-up-pool.js';
import { CandidateCache } from './candidate-cache.js';
import { CombinationRunner, type RunMeasurement } from './combination-runner.js';
import {
  appliesWithoutOld,
  autoCodecSpecs,
  autoSpecs,
  forbiddenReasons,
  listCombinations,
  replaceLabel,
  resolveSelection,
  specLabels,
  type Combination,
  type Selection,
} from './compare-combinations.js';
import type { BestFull, CompareEntry, CompareOptions, CompareResult } from './compare-result.js';

/** Label of the full package measured as the baseline in delta mode. */
export const FULL_BASELINE = 'full auto';

/** The one target compare measures for (`--target` takes a single id, alias or profile). */
export async function resolveCompareTarget(spec: string): Promise<TargetProfile> {
  const profiles = await resolveTargets(spec);
  if (profiles.length !== 1)
    throw new UsageError(
      'BAD_OPTION',
      `compare measures one target at a time; --target ${JSON.stringify(spec)} names ${profiles.length}`,
    );
  sharedBlockSize(profiles);
  return profiles[0]!;
}

/**
 * Refuses a release (a rawprogram, scatter or PAC file, or a release folder) as `--old`/`--new`:
 * compare measures one image, and would otherwise measure the layout file's own text as one.
 * A path that cannot be read is left for the image reader to report.
 */
async function refuseRelease(path: string | undefined, flag: string): Promise<void> {
  if (path === undefined) return;
  // A folder of two layout files is a release too, if not one build could take.
  const kind = await detectRelease(path).catch((err: unknown) =>
    err instanceof OtaError && err.code === 'RELEASE_AMBIGUOUS' ? 'firmware' : undefined,
  );
  if (kind === undefined) return;
  const which =
    kind === 'unisoc-pac' ? 'one of the partition images it holds, extracted' : 'one of its partition images';
  throw new UsageError(
    'COMPARE_RELEASE',
    `${flag} ${path} is a ${kind} release; compare measures one image: pass ${which} (build takes whole releases)`,
  );
}

/** Runs every combination; see CompareEntry and CompareResult for what is measured. */
export async function compareCodecs(o: CompareOptions): Promise<CompareResult> {
  const t0 = performance.now();
  const reporter = o.reporter ?? new CollectingReporter();
  await refuseRelease(o.oldPath, '--old');
  await refuseRelease(o.newPath, '--new');
  const profile = await resolveCompareTarget(o.target ?? 'generic');
  const selection = resolveSelection(o);
  const delta = o.oldPath !== undefined;
  const combos = listCombinations(selection);
  const jobs = Math.max(1, Math.floor(o.jobs ?? availableParallelism()));
  // Compare's packages are measurements that are deleted: sign them with the test key silently.
  const signer = await chooseSigner(undefined, profile.defaultSignatureAlgorithm, new CollectingReporter());
  const timingsMs: Record<string, number> = {};
  // Each combination gets the plan `build` would make for its candidates: found runs join changed
  // chunks only where it DIFFs (replaceOnlyPlan has no joins), and zip members stay whole only
  // where one of its differs needs them so (prepared; the other DIFF combinations get plainPlan).
  const sizes = runSizes([profile]);
  const joinFoundRuns = joinsFoundRuns([profile], sizes.maxRunBytes);
  const allDiffs = selection.differs.map((differ): CandidateSpec => ({ kind: 'diff', differ }));
  const wholeOptions = keepWholeOptions(allDiffs, [profile]);
  // The workers start first and hash the images, as build's do: each then loads its encoders, so
  // the first combination's build time carries no thread start or module load.
  const pool = EncodePool.create(jobs);
  let prepared: PreparedImages;
  try {
    prepared = await PreparedImages.prepare({
      oldPath: o.oldPath,
      newPath: o.newPath,
      blockSizeBytes: profile.blockSizeBytes,
      ...sizes,
      joinFoundRuns,
      ...wholeOptions,
      reporter,
      timed: phaseTimer(timingsMs),
      ...(pool.jobs > 1 ? { hashImageFile: (job, progress) => pool.hashImage(job, progress) } : {}),
    });
  } catch (err) {
    await pool.close();
    throw err;
  }
  let replaceOnlyPlan: PreparedImages | undefined;
  let plainPlan: PreparedImages | undefined;
  let workDir: string | undefined;
  let forgetWorkDir: (() => void) | undefined;
  let cache: CandidateCache | undefined;
  try {
    const parent = o.tempDir ?? tmpdir();
    // Its cache can hold gigabytes: an interrupted compare removes it too. Registered before the
    // folder is made, which is made synchronously, so no interrupt finds it made but unregistered.
    forgetWorkDir = onInterrupt(() => {
      if (workDir) removeNowSync(workDir);
    });
    try {
      workDir = mkdtempSync(join(parent, 'ota-compare-'));
    } catch (err) {
      throw ioError('create temp folder in', parent, err);
    }
    cache = await CandidateCache.create(workDir);
    const runner = new CombinationRunner({
      profile,
      signer,
      encoder: new CachingEncoder(pool, cache),
      workDir,
      oldPath: o.oldPath,
      reporter,
      labels: { sourceVersion: '', targetVersion: '', timestampSeconds: o.timestampSeconds ?? 0 },
    });
    // Each started worker codes one block with every compared codec first (not timed), so no
    // row's build time carries a codec's first load.
    await warmUpPool(pool, selection, profile.blockSizeBytes);
    // Without an old image, a differ runs only where it works without a source.
    const runs = (c: Combination) => delta || c.kind !== 'diff' || appliesWithoutOld(c.differ);
    const runnable = combos.filter(runs);
    const total = runnable.length + (delta ? 1 : 0);
    const entries: CompareEntry[] = [];
    let blockMap: BlockMap | null = null;
    for (const combo of combos) {
      if (combo.kind === 'diff' && !runs(combo)) {
        entries.push(notApplicable(combo.differ, forbiddenReasons(profile, [{ kind: 'diff', differ: combo.differ }])));
        continue;
      }
      const { label, specs, codec, level } = describe(combo, entries, profile, selection, delta);
      const forbidden = forbiddenReasons(profile, specs);
      const plan = !specs.some((s) => s.kind === 'diff')
        ? (replaceOnlyPlan ??= prepared.replanned(false))
        : keepWholeOptions(specs, [profile]).keepZipMembersWhole
          ? prepared
          : (plainPlan ??= prepared.replanned(joinFoundRuns));
      const m = await runner.run({
        label,
        specs,
        forbidden,
        prepared: plan,
        apply: true,
        index: entries.filter((e) => e.applicable).length,
        total,
        onPackage: (path) => o.onPackage?.(label, path),
      });
      entries.push(toEntry(combo, label, specs, codec, level, m));
      if (combo.kind === 'auto') blockMap = blockMapOf(m.manifest.partitions[0]!, m.manifest.blockSizeBytes);
    }
    let bestFull: BestFull | null;
    if (delta) {
      // The baseline: the full package `build` would make without --old (auto: its codecs, and
      // the differs that work without a source).
      const full = await runner.run({
        label: FULL_BASELINE,
        specs: autoSpecs(profile, selection, false),
        forbidden: [],
        prepared: prepared.fullPlanView(),
        apply: false,
        index: total - 1,
        total,
        onPackage: (path) => o.onPackage?.(FULL_BASELINE, path),
      });
      bestFull = { combination: FULL_BASELINE, packageBytes: full.packageBytes };
    } else {
      const ran = entries.filter((e) => e.packageBytes !== null);
      const candidates = ran.some((e) => e.allowed) ? ran.filter((e) => e.allowed) : ran;
      const best = candidates.reduce((a, b) => (b.packageBytes! < a.packageBytes! ? b : a));
      bestFull = { combination: best.combination, packageBytes: best.packageBytes! };
    }
    const newSize = prepared.next.sizeBytes;
    return {
      kind: delta ? 'delta' : 'full',
      target: profile.id,
      newImage: prepared.summary('target')!,
      ...(delta ? { oldImage: prepared.summary('source')! } : {}),
      jobs,
      prepareMs: (timingsMs.hashMs ?? 0) + (timingsMs.planMs ?? 0),
      totalMs: Math.round(performance.now() - t0),
      bestFull,
      entries: entries.map((e) => withPercentages(e, newSize, bestFull)),
      blockMap,
    };
  } finally {
    await pool.close();
    await cache?.close();
    await prepared.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
    forgetWorkDir?.();
  }
}

/**
 * Label and specs of a combination. A differ is paired with the smallest replace-only
 * combination the target allows (measured before it); with none, with auto's codecs.
 */
function describe(
  combo: Combination,
  done: readonly CompareEntry[],
  profile: TargetProfile,
  selection: Selection,
  delta: boolean,
) {
  if (combo.kind === 'replace') {
    return {
      label: replaceLabel(combo.codec, combo.level),
      specs: [{ kind: 'replace', codec: combo.codec, level: combo.level }] as CandidateSpec[],
      codec: combo.codec,
      level: combo.level,
    };
  }
  if (combo.kind === 'auto')
    return { label: 'auto', specs: autoSpecs(profile, selection, delta), codec: null, level: null };
  const replaced = done.filter((e) => e.kind === 'replace' && e.allowed && e.packageBytes !== null);
  const best = replaced.length > 0 ? replaced.reduce((a, b) => (b.packageBytes! < a.packageBytes! ? b : a)) : undefined;
  const fallback: CandidateSpec[] = best
    ? [{ kind: 'replace', codec: best.codec!, level: best.level! }]
    : autoCodecSpecs(profile, selection);
  const specs: CandidateSpec[] = [...fallback, { kind: 'diff', differ: combo.differ }];
  return {
    label: `${combo.differ}+${best ? best.combination : 'auto'}`,
    specs,
    codec: best?.codec ?? null,
    level: best?.level ?? null,
  };
}

function toEntry(
  combo: Combination,
  label: string,
  specs: readonly CandidateSpec[],
  codec: string | null,
  level: number | null,
  m: RunMeasurement,
): CompareEntry {
  return {
    combination: label,
    kind: combo.kind,
    codec,
    level,
    differ: combo.kind === 'diff' ? combo.differ : null,
    candidates: specLabels(specs),
    applicable: true,
    packageBytes: m.packageBytes,
    percentOfNew: null,
    percentOfBestFull: null,
    bestFullBytes: null,
    buildMs: m.buildMs,
    applyMs: m.applyMs,
    decoderMemoryBytes: m.decoderMemoryBytes,
    allowed: m.allowed,
    reason: m.reasons.length > 0 ? m.reasons.join('; ') : null,
  };
}

function notApplicable(differ: string, forbidden: readonly string[]): CompareEntry {
  return {
    combination: differ,
    kind: 'diff',
    codec: null,
    level: null,
    differ,
    candidates: [`diff/${differ}`],
    applicable: false,
    packageBytes: null,
    percentOfNew: null,
    percentOfBestFull: null,
    bestFullBytes: null,
    buildMs: null,
    applyMs: null,
    decoderMemoryBytes: null,
    allowed: forbidden.length === 0,
    reason: [`not applicable without --old: ${differ} needs an old image to diff against`, ...forbidden].join('; '),
  };
}

function withPercentages(e: CompareEntry, newSizeBytes: number, best: BestFull | null): CompareEntry {
  if (e.packageBytes === null) return e;
  return {
    ...e,
    percentOfNew: newSizeBytes > 0 ? (100 * e.packageBytes) / newSizeBytes : null,
    percentOfBestFull: best ? (100 * e.packageBytes) / best.packageBytes : null,
    bestFullBytes: best?.packageBytes ?? null,
  };
}
