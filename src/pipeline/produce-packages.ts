// producePackages: encodes each partition's prepared plan once for a set of targets and writes
// one signed, self-verified package per target: every kept blob was decoded and compared with the
// new data (self-check.ts), then the written file's signatures and blob hashes are checked.
// Shared by `build` (one image or a whole release) and `compare` (one run per codec/differ
// combination over the same PreparedImages).

import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeOnInterrupt } from '../image/interrupt-cleanup.js';
import { BlobSpool } from '../package/blob-spool.js';
import { PackageReader } from '../package/package-reader.js';
import { packageProperties, propertiesPathOf, type PackageProperties } from '../package/package-properties.js';
import { writePackage } from '../package/package-writer.js';
import { ImageError, UnsupportedError } from '../errors/ota-error.js';
import { gatherTwins } from '../planner/gather-twins.js';
import { addTargetSources } from '../planner/target-sources.js';
import { orderInPlace } from '../planner/in-place-order.js';
import type { PlanStep } from '../planner/plan-items.js';
import { sameIdentity, type ImageIdentity } from '../model/manifest.js';
import type { CandidateSpec } from '../planner/candidates.js';
import type { Reporter } from '../reporter.js';
import { checkPackageBody } from '../verify/check-package-body.js';
import type { BuiltPackage } from './build-options.js';
import type { ChunkEncoder } from './chunk-encoder.js';
import { gatherFullChunks } from './gather-full-chunks.js';
import { encodePlan, targetNeeds, type TargetNeeds } from './encode-plan.js';
import { CHUNK_BYTES, type PreparedImages } from './prepared-images.js';
import type { TargetAssembly } from './target-assembly.js';
import type { TargetProfile } from '../model/target-profile.js';
import { differByName } from '../diff/differ-registry.js';

/** What goes into every package besides the ops. */
export interface PackageLabels {
  readonly sourceVersion: string;
  readonly targetVersion: string;
  readonly timestampSeconds: number;
}

/**
 * Warns (ZIP_MEMBERS_CUT) when targets built together cut changed zip members that some of them
 * could have kept whole: the shared plan's op limit is the smallest target's, and a member longer
 * than it is diffed as bytes, for every target, instead of by deflate-aware. The targets that
 * could keep at least the shortest such member whole (ops that hold it, a differ that keeps
 * members whole allowed) are told to be built without those whose ops are shorter than it.
 */
function warnMembersCut(o: ProduceOptions, job: PartitionJob, prepared: PreparedImages): void {
  const cut = prepared.membersCut();
  if (cut.count === 0) return;
  const profiles = o.assemblies.map((a) => a.profile);
  const keepsWhole = (p: TargetProfile) =>
    p.allowedOperations.includes('diff') &&
    p.allowedDiffers.some((d) => differByName(d).traits.keepWhole === 'zip-members');
  const larger = profiles.filter((p) => p.maxOperationBytes >= cut.shortestBytes && keepsWhole(p)).map((p) => p.id);
  const smaller = profiles.filter((p) => p.maxOperationBytes < cut.shortestBytes).map((p) => p.id);
  if (larger.length === 0 || smaller.length === 0) return;
  const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
  const and = (ids: readonly string[]) => ids.join(' and ');
  const one = cut.count === 1;
  const members = one ? '1 changed zip member' : `${cut.count} changed zip members`;
  const whole = one ? 'it whole' : `those their ops hold (the shortest is ${mib(cut.shortestBytes)}) whole`;
  (job.reporter ?? o.reporter).warn({
    code: 'ZIP_MEMBERS_CUT',
    message: `partition ${job.name}: ${members} (${mib(cut.sizeBytes)}) ${one ? 'is' : 'are'} longer than the ${mib(prepared.maxRunBytes)} ops of ${and(smaller)}, and targets built together share one plan, so ${and(larger)} got byte diffs for ${one ? 'it' : 'them'} too; build ${and(larger)} without ${and(smaller)} (--target) to keep ${whole}`,
  });
}

/**
 * One partition to encode. Prepared only when its turn comes and released right after, so one
 * partition's images and digests are in memory at a time.
 */
export interface PartitionJob {
  readonly name: string;
  prepare(): Promise<PreparedImages>;
  /**
   * Called once the partition is encoded (`unchanged` says whether it was listed without ops) or
   * failed (`undefined`); closes what prepare opened.
   */
  release(prepared: PreparedImages, unchanged: boolean | undefined): Promise<void>;
  /** List the partition without ops when its new image equals the old one (release builds). */
  readonly keepUnchanged: boolean;
  /** Progress of this partition's encoding (default: the build's reporter). */
  readonly reporter?: Reporter;
}

/** A job for an already prepared single image, left open for the caller. */
export function preparedJob(name: string, prepared: PreparedImages): PartitionJob {
  return { name, prepare: async () => prepared, release: async () => undefined, keepUnchanged: false };
}

/** Inputs of producePackages. */
export interface ProduceOptions {
  readonly partitions: readonly PartitionJob[];
  readonly assemblies: readonly TargetAssembly[];
  readonly specs: readonly CandidateSpec[];
  readonly encoder: ChunkEncoder;
  readonly outDir: string;
  readonly labels: PackageLabels;
  readonly reporter: Reporter;
  readonly timed: <T>(phase: string, f: () => Promise<T>) => Promise<T>;
  /** Receives the self-check's thread time, summed over all chunks and workers. */
  readonly selfCheckTotals?: { ms: number };
  /** In-place packages: order every partition for rewriting in place within this stash limit. */
  readonly inPlace?: { readonly maxStashBytes: number };
}

/** Encodes and writes; returns one BuiltPackage per assembly, in order. */
export async function producePackages(o: ProduceOptions): Promise<BuiltPackage[]> {
  const spool = await BlobSpool.create(o.outDir);
  const needs = targetNeeds(o.assemblies.map((a) => a.profile));
  try {
    for (const job of o.partitions) await encodePartition(o, job, spool, needs);
    return await o.timed('writeMs', async () => {
      // Every package is written and verified under a temporary name first; only when all of them
      // are do they take their names, so a failure (a signer, a full disk) leaves none of them.
      const staged: StagedPackage[] = [];
      const committed: StagedPackage[] = [];
      try {
        for (const a of o.assemblies) {
          const manifest = a.manifest({
            timestampSeconds: o.labels.timestampSeconds,
            sourceVersion: o.labels.sourceVersion,
            targetVersion: o.labels.targetVersion,
          });
          staged.push(await stageVerified(a, manifest, spool, o.outDir));
        }
        for (const p of staged) {
          await commitStaged(p);
          committed.push(p);
        }
        return staged.map((p) => p.built);
      } catch (err) {
        for (const p of staged) await discardStaged(p, committed.includes(p));
        throw err;
      }
    });
  } finally {
    await spool.dispose();
  }
}

/** Prepares, encodes (unless unchanged) and ends one partition in every assembly. */
async function encodePartition(
  o: ProduceOptions,
  job: PartitionJob,
  spool: BlobSpool,
  needs: TargetNeeds,
): Promise<void> {
  const prepared = await job.prepare();
  let unchanged: boolean | undefined;
  try {
    const source = prepared.identity('source', o.labels.sourceVersion);
    const target = prepared.identity('target', o.labels.targetVersion)!;
    if (source === undefined || !sameIdentity(source, target)) checkHasData(job.name, prepared, target);
    const same = job.keepUnchanged && source !== undefined && sameIdentity(source, target);
    let convertedReplaceOps = 0;
    if (!same) {
      warnMembersCut(o, job, prepared);
      let items: readonly PlanStep[] = prepared.items;
      if (o.inPlace) {
        if (source && source.sizeBytes !== target.sizeBytes)
          throw new UnsupportedError(
            'IN_PLACE_UNSUPPORTED',
            `partition ${job.name}: the old image is ${source.sizeBytes} bytes and the new one ${target.sizeBytes}; an in-place update rewrites an image of one size (build an A/B package)`,
          );
        const ordered = orderInPlace(prepared.items, {
          blockSizeBytes: prepared.blockSizeBytes,
          maxStashBytes: o.inPlace.maxStashBytes,
        });
        items = ordered.steps;
        convertedReplaceOps = ordered.convertedCount;
      } else if (prepared.old === undefined) {
        // A full partition: alike content from anywhere in the image shares one op's compressor.
        items = await o.timed('gatherMs', () =>
          gatherFullChunks(prepared.next, prepared.items, prepared.blockSizeBytes, prepared.fullChunkBytes),
        );
      } else {
        // A/B delta: content repeated in the new image is coded once, in the op of its first copy.
        const maxRunBlocks = Math.floor(prepared.maxRunBytes / prepared.blockSizeBytes);
        items = await o.timed('gatherMs', async () => {
          const gathered = gatherTwins(prepared.items, prepared.newDigests, maxRunBlocks);
          // Content the new image repeats from what earlier ops write is diffed against it too (1.6).
          const newAnchors = prepared.newDigests.anchors;
          const oldAnchors = prepared.oldAnchors;
          if (!needs.targetSourceAllowed || !newAnchors || !oldAnchors) return gathered;
          return addTargetSources(gathered, {
            blockSizeBytes: prepared.blockSizeBytes,
            blockCount: prepared.newDigests.blockCount,
            newAnchors,
            oldAnchors,
            windowBlocks: Math.floor(CHUNK_BYTES / prepared.blockSizeBytes),
            maxSourceBlocks: 4 * maxRunBlocks,
          });
        });
      }
      await o.timed('encodeMs', () =>
        encodePlan({
          items,
          next: prepared.next,
          old: prepared.old,
          blockSizeBytes: prepared.blockSizeBytes,
          specs: o.specs,
          encoder: o.encoder,
          spool,
          assemblies: o.assemblies,
          reporter: job.reporter ?? o.reporter,
          targetNeeds: needs,
          selfCheckTotals: o.selfCheckTotals,
        }),
      );
    }
    for (const a of o.assemblies) a.endPartition(job.name, source, target, convertedReplaceOps);
    unchanged = same;
  } finally {
    await job.release(prepared, unchanged);
  }
}

/**
 * Refuses a changed new image whose every block is DONT_CARE (exit 3): it would get no operation,
 * and FORMAT.md lists a partition without operations only when it is unchanged from its source.
 */
function checkHasData(name: string, prepared: PreparedImages, target: ImageIdentity): void {
  const blockCount = Math.ceil(target.sizeBytes / prepared.blockSizeBytes);
  const dontCareBlocks = target.dontCare.reduce((n, e) => n + e.blockCount, 0);
  if (blockCount === 0 || dontCareBlocks < blockCount) return;
  throw new ImageError(
    'IMAGE_ALL_DONT_CARE',
    `${prepared.next.path}: the new image of partition ${name} is entirely DONT_CARE (${blockCount} blocks), so there is nothing to write; a package lists a partition without data only when it equals the old image`,
  );
}

/** A package written and verified under temporary names, with where it goes and what it is. */
interface StagedPackage {
  readonly tmp: string;
  readonly propertiesTmp: string;
  readonly built: BuiltPackage;
  /** Forgets the temporaries' interrupt cleanup (once they are renamed or removed). */
  readonly forget: () => void;
}

/**
 * Writes `a`'s package to a temporary file next to its final name, checks it as a device would
 * (signatures with the target's own verifier, every blob's hash: checkPackageBody) and writes its
 * properties map to a temporary file too; removes both when anything fails.
 */
async function stageVerified(
  a: TargetAssembly,
  manifest: ReturnType<TargetAssembly['manifest']>,
  spool: BlobSpool,
  outDir: string,
): Promise<StagedPackage> {
  const finalPath = join(outDir, `update-${a.profile.id}.otapkg`);
  const tmp = join(outDir, `.update-${a.profile.id}.otapkg.tmp-${process.pid}`);
  await unlink(tmp).catch(() => undefined);
  const propertiesTmp = join(outDir, `.update-${a.profile.id}.properties.json.tmp-${randomBytes(8).toString('hex')}`);
  let properties: PackageProperties;
  let written: Awaited<ReturnType<typeof writePackage>>;
  const interrupted = [removeOnInterrupt(tmp), removeOnInterrupt(propertiesTmp)];
  const forget = () => interrupted.forEach((f) => f());
  try {
    written = await writePackage(tmp, {
      targetHeader: a.targetHeader(),
      manifest,
      blobRanges: a.blobRanges,
      spool,
      signer: a.signers,
      leastFormatMinor: a.blobFormatMinor,
      target: a.profile,
    });
    const reader = await PackageReader.open(tmp, { verifier: a.signer.verifier() });
    properties = await checkPackageBody(reader, { decode: false })
      .then(() => packageProperties(reader, written.sha256.toString('hex')))
      .finally(() => reader.close());
    // Through an exclusively created temp file (never through a planted link).
    await writeFile(propertiesTmp, JSON.stringify(properties, null, 2) + '\n', { flag: 'wx', mode: 0o644 });
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    await unlink(propertiesTmp).catch(() => undefined);
    forget();
    throw err;
  }
  const operationCounts = a.operationCounts();
  return {
    tmp,
    propertiesTmp,
    forget,
    built: {
      target: a.profile.id,
      path: finalPath,
      sizeBytes: written.sizeBytes,
      sha256: written.sha256.toString('hex'),
      signatureAlgorithm: a.signer.algorithm.name,
      operationCounts,
      blobBytesByKind: Object.fromEntries(a.bytesByKind),
      selfCheck: { ...a.selfCheck },
      ...(a.profile.updateMode === 'in-place' ? { inPlace: { ...a.inPlace } } : {}),
      propertiesPath: propertiesPathOf(finalPath),
      properties,
    },
  };
}

/**
 * Renames a staged package into place: the map for downloaders first, then the package it
 * describes (a map whose package could not follow is removed again).
 */
async function commitStaged(p: StagedPackage): Promise<void> {
  await rename(p.propertiesTmp, p.built.propertiesPath);
  await rename(p.tmp, p.built.path).catch(async (err: unknown) => {
    await unlink(p.built.propertiesPath).catch(() => undefined);
    throw err;
  });
  p.forget();
}

/** Removes a staged package's files: its temporaries, and what it renamed into place when `committed`. */
async function discardStaged(p: StagedPackage, committed: boolean): Promise<void> {
  const paths = committed ? [p.built.path, p.built.propertiesPath] : [p.tmp, p.propertiesTmp];
  for (const path of paths) await unlink(path).catch(() => undefined);
  p.forget();
}
