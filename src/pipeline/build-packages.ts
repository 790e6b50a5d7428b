// buildPackages: open → hash → plan → encode once (worker pool) → per-target selection →
// shared blob spool → one signed package per target → self-check → rename into place.

import { mkdir, rename, unlink } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { codecByName } from '../codecs/codec-registry.js';
import { differByName } from '../diff/differ-registry.js';
import { UnsupportedError, UsageError, ioError } from '../errors/ota-error.js';
import { dontCareExtents, hashBlocks, type BlockDigests } from '../hashing/block-digests.js';
import { DigestIndex } from '../hashing/digest-index.js';
import type { BlockSource } from '../image/block-source.js';
import { openImage } from '../image/open-image.js';
import type { ImageIdentity } from '../model/manifest.js';
import { BlobSpool } from '../package/blob-spool.js';
import { PackageReader } from '../package/package-reader.js';
import { writePackage } from '../package/package-writer.js';
import type { CandidateSpec } from '../planner/candidates.js';
import { planBlocks } from '../planner/plan-blocks.js';
import { CollectingReporter } from '../reporter.js';
import { chooseSigner } from '../signing/choose-key.js';
import { DEFAULT_TARGETS, resolveTargets } from '../targets/target-registry.js';
import { checkPackageBody } from '../verify/check-package-body.js';
import type { BuildOptions, BuildResult, BuiltPackage } from './build-options.js';
import { EncodePool } from './encode-pool.js';
import { encodePlan } from './encode-plan.js';
import { TargetAssembly } from './target-assembly.js';

/** Largest changed chunk handed to one encoder task (op memory stays bounded). */
export const CHUNK_BYTES = 1024 * 1024;

/** Builds one signed package per target. See BuildOptions for the inputs. */
export async function buildPackages(options: BuildOptions): Promise<BuildResult> {
  const reporter = options.reporter ?? new CollectingReporter();
  const timingsMs: Record<string, number> = {};
  const timed = async <T>(phase: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timingsMs[phase] = Math.round(performance.now() - t0);
    }
  };
  const profiles = resolveTargets(options.targets ?? DEFAULT_TARGETS);
  const blockSizeBytes = profiles[0]!.blockSizeBytes;
  for (const p of profiles) {
    if (p.updateMode !== 'ab') throw new UnsupportedError('IN_PLACE_UNSUPPORTED', `target ${p.id} uses in-place updates; this version builds A/B packages only`);
    if (p.blockSizeBytes !== blockSizeBytes) throw new UsageError('MIXED_BLOCK_SIZES', `targets ${profiles[0]!.id} and ${p.id} use different block sizes; build them separately`);
  }
  const specs = candidateSpecs(options, profiles);
  const timestampSeconds = options.timestampSeconds ?? 0;
  if (options.timestampSeconds === undefined) reporter.warn({ code: 'NO_TIMESTAMP', message: 'no SOURCE_DATE_EPOCH or --timestamp: the package timestamp is 0, so devices cannot use it against rollback' });

  const assemblies: TargetAssembly[] = [];
  for (const p of profiles) {
    const key = options.keyPathByTarget?.[p.id] ?? options.keyPath;
    assemblies.push(new TargetAssembly(p, await chooseSigner(key, p.defaultSignatureAlgorithm, reporter), options.platform ?? p.defaultPlatform));
  }
  try {
    await mkdir(options.outDir, { recursive: true });
  } catch (err) {
    throw ioError('create output folder', options.outDir, err);
  }

  const sources: BlockSource[] = [];
  const pool = EncodePool.create(options.jobs ?? availableParallelism());
  let spool: BlobSpool | undefined;
  try {
    const next = await openImage(options.newPath);
    sources.push(next);
    const old = options.oldPath ? await openImage(options.oldPath) : undefined;
    if (old) sources.push(old);
    const progress = (phase: string) => (done: number, total: number) => reporter.progress({ phase, done, total });
    const [oldDigests, newDigests] = await timed('hashMs', () =>
      Promise.all([old ? hashBlocks(old, blockSizeBytes, progress('hashing old')) : undefined, hashBlocks(next, blockSizeBytes, progress('hashing new'))]),
    );
    const maxRunBytes = Math.min(...profiles.map((p) => p.maxOperationBytes));
    const items = await timed('planMs', async () => {
      const oldView = oldDigests ? { digests: oldDigests, index: new DigestIndex(oldDigests) } : undefined;
      const chunkBlocks = Math.max(1, Math.floor(Math.min(CHUNK_BYTES, maxRunBytes) / blockSizeBytes));
      return planBlocks(newDigests, oldView, { maxRunBlocks: Math.floor(maxRunBytes / blockSizeBytes), chunkBlocks, maxSourceBlocks: 4 * chunkBlocks });
    });
    spool = await BlobSpool.create(options.outDir);
    await timed('encodeMs', () => encodePlan({ items, next, old, blockSizeBytes, specs, pool, spool: spool!, assemblies, reporter }));

    const identity = (src: BlockSource, d: BlockDigests, version: string): ImageIdentity => ({ sizeBytes: src.sizeBytes, sha256: d.imageSha256, version, dontCare: dontCareExtents(d) });
    const packages: BuiltPackage[] = [];
    await timed('writeMs', async () => {
      for (const a of assemblies) {
        const manifest = a.manifest({
          partitionName: options.partitionName ?? a.profile.defaultPartitionName,
          source: old && oldDigests ? identity(old, oldDigests, options.sourceVersion ?? '') : undefined,
          target: identity(next, newDigests, options.targetVersion ?? ''),
          timestampSeconds,
          sourceVersion: options.sourceVersion ?? '',
          targetVersion: options.targetVersion ?? '',
        });
        packages.push(await writeVerified(a, manifest, spool!, options.outDir));
      }
    });
    const describe = (src: BlockSource, d: BlockDigests) => ({ path: src.path, format: src.format, sizeBytes: src.sizeBytes, sha256: d.imageSha256.toString('hex'), dontCareBlocks: d.dontCareCount });
    return {
      kind: old ? 'delta' : 'full',
      ...(old && oldDigests ? { source: describe(old, oldDigests) } : {}),
      target: describe(next, newDigests),
      packages,
      timingsMs,
    };
  } finally {
    await pool.close();
    await spool?.dispose();
    for (const s of sources) await s.close();
  }
}

/** The candidates every changed chunk is encoded with: the union over targets, narrowed by the options. */
function candidateSpecs(options: BuildOptions, profiles: readonly { id: string; allowedCodecs: readonly string[]; allowedDiffers: readonly string[]; allowedOperations: readonly string[] }[]): CandidateSpec[] {
  const codecChoice = options.codec ?? 'auto';
  const differChoice = options.differ ?? 'auto';
  if (codecChoice !== 'auto') codecByName(codecChoice);
  if (differChoice !== 'auto') differByName(differChoice);
  if (options.level !== undefined && codecChoice === 'auto') throw new UsageError('LEVEL_NEEDS_CODEC', '--level applies to one codec: give --codec too');
  for (const p of profiles) {
    if (codecChoice !== 'auto' && !p.allowedCodecs.includes(codecChoice)) throw new UsageError('CODEC_NOT_ALLOWED', `target ${p.id} does not allow codec ${codecChoice} (allowed: ${p.allowedCodecs.join(', ')})`);
    if (differChoice !== 'auto' && !p.allowedDiffers.includes(differChoice)) throw new UsageError('DIFFER_NOT_ALLOWED', `target ${p.id} does not allow differ ${differChoice} (allowed: ${p.allowedDiffers.join(', ')})`);
  }
  const union = (pick: (p: (typeof profiles)[number]) => readonly string[]) => [...new Set(profiles.flatMap(pick))];
  const codecs = codecChoice === 'auto' ? union((p) => p.allowedCodecs) : [codecChoice];
  const specs: CandidateSpec[] = codecs.map((name) => {
    const codec = codecByName(name);
    const level = options.level ?? codec.defaultLevel;
    if (level < codec.minLevel || level > codec.maxLevel) throw new UsageError('BAD_LEVEL', `--level ${level} is outside ${name}'s ${codec.minLevel}..${codec.maxLevel}`);
    return { kind: 'replace', codec: name, level };
  });
  const diffAllowed = profiles.some((p) => p.allowedOperations.includes('diff'));
  const differs = !diffAllowed ? [] : differChoice === 'auto' ? union((p) => p.allowedDiffers) : [differChoice];
  for (const differ of differs) specs.push({ kind: 'diff', differ });
  return specs;
}

/** Writes a target's package to a temp file, verifies it end to end, then renames it into place. */
async function writeVerified(a: TargetAssembly, manifest: ReturnType<TargetAssembly['manifest']>, spool: BlobSpool, outDir: string): Promise<BuiltPackage> {
  const finalPath = join(outDir, `update-${a.profile.id}.otapkg`);
  const tmp = join(outDir, `.update-${a.profile.id}.otapkg.tmp-${process.pid}`);
  await unlink(tmp).catch(() => undefined);
  const written = await writePackage(tmp, { targetHeader: a.targetHeader(), manifest, blobRanges: a.blobRanges, spool, signer: a.signer });
  try {
    const reader = await PackageReader.open(tmp, { verifier: a.signer.verifier() });
    await checkPackageBody(reader).finally(() => reader.close());
    await rename(tmp, finalPath);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const operationCounts: Record<string, number> = {};
  for (const op of a.operations) operationCounts[op.type] = (operationCounts[op.type] ?? 0) + 1;
  return {
    target: a.profile.id,
    path: finalPath,
    sizeBytes: written.sizeBytes,
    sha256: written.sha256.toString('hex'),
    signatureAlgorithm: a.signer.algorithm.name,
    operationCounts,
    blobBytesByKind: Object.fromEntries(a.bytesByKind),
  };
}
