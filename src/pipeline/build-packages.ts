// buildPackages: resolve targets and keys → prepare (open, hash, plan) → encode once on the
// worker pool → one signed, self-verified package per target (see produce-packages.ts).

import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { UnsupportedError, UsageError, ioError } from '../errors/ota-error.js';
import type { TargetProfile } from '../model/target-profile.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import { chooseSigner } from '../signing/choose-key.js';
import { DEFAULT_TARGETS, resolveTargets } from '../targets/target-registry.js';
import type { BuildOptions, BuildResult } from './build-options.js';
import { candidateSpecs } from './candidate-specs.js';
import { EncodePool } from './encode-pool.js';
import { PreparedImages } from './prepared-images.js';
import { producePackages } from './produce-packages.js';
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
    if (p.updateMode !== 'ab') throw new UnsupportedError('IN_PLACE_UNSUPPORTED', `target ${p.id} uses in-place updates; this version builds A/B packages only`);
    if (p.blockSizeBytes !== blockSizeBytes) throw new UsageError('MIXED_BLOCK_SIZES', `targets ${profiles[0]!.id} and ${p.id} use different block sizes; build them separately`);
  }
  return blockSizeBytes;
}

/** The package timestamp, warning when there is none. */
export function packageTimestamp(timestampSeconds: number | undefined, reporter: Reporter): number {
  if (timestampSeconds === undefined) reporter.warn({ code: 'NO_TIMESTAMP', message: 'no SOURCE_DATE_EPOCH or --timestamp: the package timestamp is 0, so devices cannot use it against rollback' });
  return timestampSeconds ?? 0;
}

/** Builds one signed package per target. See BuildOptions for the inputs. */
export async function buildPackages(options: BuildOptions): Promise<BuildResult> {
  const reporter = options.reporter ?? new CollectingReporter();
  const timingsMs: Record<string, number> = {};
  const timed = phaseTimer(timingsMs);
  const profiles = resolveTargets(options.targets ?? DEFAULT_TARGETS);
  const blockSizeBytes = sharedBlockSize(profiles);
  const specs = candidateSpecs(options, profiles);
  const timestampSeconds = packageTimestamp(options.timestampSeconds, reporter);
  const assemblies: TargetAssembly[] = [];
  for (const p of profiles) {
    const key = options.keyPathByTarget?.[p.id] ?? options.keyPath;
    assemblies.push(new TargetAssembly(p, await chooseSigner(key, p.defaultSignatureAlgorithm, reporter), options.platform ?? p.defaultPlatform));
  }
  const maxRunBytes = Math.min(...profiles.map((p) => p.maxOperationBytes));
  const prepared = await PreparedImages.prepare({ oldPath: options.oldPath, newPath: options.newPath, blockSizeBytes, maxRunBytes, reporter, timed });
  const pool = EncodePool.create(options.jobs ?? availableParallelism());
  try {
    try {
      await mkdir(options.outDir, { recursive: true });
    } catch (err) {
      throw ioError('create output folder', options.outDir, err);
    }
    const packages = await producePackages({
      prepared, assemblies, specs, pool, outDir: options.outDir, reporter, timed,
      labels: { partitionName: options.partitionName, sourceVersion: options.sourceVersion ?? '', targetVersion: options.targetVersion ?? '', timestampSeconds },
    });
    const source = prepared.summary('source');
    return { kind: source ? 'delta' : 'full', ...(source ? { source } : {}), target: prepared.summary('target')!, packages, timingsMs };
  } finally {
    await pool.close();
    await prepared.close();
  }
}
