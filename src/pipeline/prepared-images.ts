// PreparedImages: the expensive, option-independent part of a build, done once — open both
// images, hash every block, index the old image and plan the new one. `build` encodes it once;
// `compare` encodes the same plan with many codec/differ combinations.
// Memory (grows with the image, ~45 MiB per GiB measured): two digest arrays (34 bytes per block
// each), both images' anchors (12 bytes each, ~1 per KiB of non-zero data), the anchor index
// (8 bytes per old anchor), the digest index (8 bytes per old block) and the plan.

import { dontCareExtents, hashBlocks, type BlockDigests, type HashProgress } from '../hashing/block-digests.js';
import { AnchorIndex } from '../hashing/anchor-index.js';
import { DigestIndex } from '../hashing/digest-index.js';
import type { BlockSource } from '../image/block-source.js';
import { assertImageBlockCount } from '../image/input-image-limit.js';
import { openImage } from '../image/open-image.js';
import type { ImageIdentity } from '../model/manifest.js';
import {
  changedRunsLongerThan,
  planBlocks,
  type OldImageView,
  type PlanOptions as PlannerOptions,
} from '../planner/plan-blocks.js';
import type { PlanItem } from '../planner/plan-items.js';
import type { Reporter } from '../reporter.js';
import type { Extent } from '../model/extent.js';
import type { TargetProfile } from '../model/target-profile.js';
import { differByName } from '../diff/differ-registry.js';
import type { InputSummary } from './build-options.js';
import type { HashJob } from './hash-image-file.js';

/**
 * Largest changed chunk handed to one encoder task (op memory stays bounded; a smaller
 * maxOperationBytes among the targets wins). Chunks holding zip members keep their differ's
 * size (DifferTraits.wholeChunkBytes); chunks whose content repeats later are cut to a quarter
 * op (gather-twins.ts). Against 1 MiB chunks with the same 4 MiB of source (bench runs at
 * 2ad4dee and c2f3365): delta packages 6.2 % (patch-64, blob-64), 4.4 % (arm64-64), 2.9 %
 * (major-64), 1.0 % (patch-1024) and 0.5 % (patch-256) smaller, apk-64 byte-identical, the 4 GiB
 * pair 1.0 % larger; build CPU 17 % lower on patch-256, 9 % on patch-64, within the runs' noise
 * on the others and 13 % higher on the 4 GiB pair; peak build RSS up to 170 MiB higher
 * (major-64: 754 MiB; the 4 GiB pair: 731 -> 930 MiB). 4 x the chunk of source (8 MiB) was no
 * smaller on patch-64 and blob-64 for 10-20 % more build time, and took the 4 GiB pair to
 * 1,008-1,100 MiB.
 */
export const CHUNK_BYTES = 2 * 1024 * 1024;
/** Most old bytes a changed chunk is diffed against (at most 4 x the chunk; see diffSources). */
export const SOURCE_BYTES = 4 * 1024 * 1024;
/**
 * Largest run the planner makes (a COPY, a ZERO, a zip member kept whole) however large the
 * targets' ops may be: an applier holds a COPY's blocks in memory (two steps in flight), and
 * longer runs would save only a few manifest bytes.
 */
export const MAX_RUN_BYTES = 4 * 1024 * 1024;
/**
 * Largest chunk of a full partition (no old image) where the targets' ops are that large: one
 * LZMA context over more alike content. On major-256 (xz -9e of the whole image: 30.92 MB) the
 * full package was 31.18 MB with 4 MiB chunks, 30.65 MB with 8 MiB, 30.34 MB with 12 MiB and
 * 30.16 MB with 16 MiB; the reference applier then peaked at 107-109, 121-130, 149-161 and 158-172 MiB RSS
 * (its limit is 160 MiB: two decoded ops in flight and the LZMA dictionary grow with the chunk).
 */
export const FULL_CHUNK_BYTES = 8 * 1024 * 1024;

/** The run sizes of one plan that `profiles` share (PlanOptions). */
export function runSizes(
  profiles: readonly TargetProfile[],
): Pick<PlanOptions, 'maxRunBytes' | 'largestRunBytes' | 'fullChunkBytes'> {
  const opBytes = profiles.map((p) => p.maxOperationBytes);
  return {
    maxRunBytes: Math.min(MAX_RUN_BYTES, ...opBytes),
    largestRunBytes: Math.min(MAX_RUN_BYTES, Math.max(...opBytes)),
    fullChunkBytes: Math.min(FULL_CHUNK_BYTES, ...opBytes),
  };
}

/**
 * Whether found runs should join changed chunks (the planner's joinFoundRuns) for these targets:
 * every target must allow DIFF with some differ whose decoder memory for a full-size chunk and
 * its largest source (plans whose ops are at most `maxRunBytes`) is within its limit. A joined
 * run is cheap only inside a DIFF; where no differ fits, its chunk becomes a REPLACE that stores
 * the joined blocks a COPY would have moved (a 1 MiB-limit profile made packages 28 % larger than
 * replace-only). Decided by what each target allows, not by the differs a build asks for, so
 * the built-in profiles (whose bsdiff-lzma fits) always join.
 */
export function joinsFoundRuns(profiles: readonly TargetProfile[], maxRunBytes: number): boolean {
  const chunkBytes = Math.min(CHUNK_BYTES, maxRunBytes);
  const sourceBytes = Math.min(4 * chunkBytes, SOURCE_BYTES);
  return profiles.every(
    (p) =>
      p.allowedOperations.includes('diff') &&
      p.allowedDiffers.some(
        (d) => differByName(d).decoderMemoryBytes(sourceBytes, chunkBytes) <= p.decoderMemoryLimitBytes,
      ),
  );
}

/** The planner's options for a block size, the targets' op limit and whether they all DIFF. */
function planLimits(
  blockSizeBytes: number,
  maxRunBytes: number,
  joinFoundRuns: boolean,
  keepWhole?: readonly Extent[],
  wholeChunkBytes = Infinity,
): PlannerOptions {
  const blocksOf = (bytes: number) => Math.max(1, Math.floor(Math.min(bytes, maxRunBytes) / blockSizeBytes));
  const chunkBlocks = blocksOf(CHUNK_BYTES);
  return {
    maxRunBlocks: Math.floor(maxRunBytes / blockSizeBytes),
    chunkBlocks,
    maxSourceBlocks: Math.min(4 * chunkBlocks, Math.floor(SOURCE_BYTES / blockSizeBytes)),
    joinFoundRuns,
    ...(keepWhole === undefined || keepWhole.length === 0
      ? {}
      : { keepWhole, wholeChunkBlocks: blocksOf(Math.min(wholeChunkBytes, CHUNK_BYTES)) }),
  };
}

/**
 * How many blocks a zip member kept whole may span (none longer than an op), when the new image's
 * hashing must find them: a delta whose differs keep members whole.
 */
function zipSpanMaxBlocks(o: PlanOptions, delta: boolean): number | undefined {
  return delta && o.keepZipMembersWhole
    ? Math.floor(Math.max(o.maxRunBytes, o.largestRunBytes ?? 0) / o.blockSizeBytes)
    : undefined;
}

/** Progress of one hashing phase, as reporter events. */
function progressOf(reporter: Reporter, phase: string): HashProgress {
  return (done, total) => reporter.progress({ phase, done, total });
}

/** How to plan: shared by prepare (paths) and fromSources (opened images). */
export interface PlanOptions {
  readonly blockSizeBytes: number;
  /** Smallest maxOperationBytes among the targets, at most MAX_RUN_BYTES: no planned run is larger. */
  readonly maxRunBytes: number;
  /**
   * Largest maxOperationBytes among the targets, at most MAX_RUN_BYTES (default maxRunBytes): zip
   * members up to this size are found, so the changed ones the plan cuts for a smaller op can be
   * told (membersCut).
   */
  readonly largestRunBytes?: number;
  /**
   * Largest chunk gathered for a full partition: the smallest maxOperationBytes among the targets,
   * at most FULL_CHUNK_BYTES (default maxRunBytes).
   */
  readonly fullChunkBytes?: number;
  /** True when every target allows DIFF ops (see the planner's PlanOptions.joinFoundRuns). */
  readonly joinFoundRuns: boolean;
  /** A differ tried keeps zip members whole (traits.keepWhole): the planner keeps changed ones in one op. */
  readonly keepZipMembersWhole?: boolean;
  /** The largest chunk holding such members (DifferTraits.wholeChunkBytes; Infinity: CHUNK_BYTES). */
  readonly wholeChunkBytes?: number;
  readonly reporter: Reporter;
  /** Records a phase's duration (e.g. `hashMs`). */
  readonly timed: <T>(phase: string, f: () => Promise<T>) => Promise<T>;
}

/** Hashes an image file by path, possibly on another thread (EncodePool.hashImage). */
export type HashImageFile = (job: HashJob, onProgress?: HashProgress) => Promise<BlockDigests>;

/** What to prepare from image paths. */
export interface PrepareOptions extends PlanOptions {
  readonly oldPath?: string;
  readonly newPath: string;
  /**
   * Hashes an image from its path elsewhere (on a worker: the two images on two threads while
   * this one scans the zip members); absent, both are hashed here. Must give what hashBlocks gives.
   */
  readonly hashImageFile?: HashImageFile;
}

/** Opened, hashed and planned images. Close it when done. */
export class PreparedImages {
  private owned = false;

  private constructor(
    readonly next: BlockSource,
    readonly old: BlockSource | undefined,
    readonly newDigests: BlockDigests,
    /** The old image's digests with their indexes (the planner's view), when there is one. */
    private readonly oldView: OldImageView | undefined,
    readonly items: readonly PlanItem[],
    readonly blockSizeBytes: number,
    /** No planned run is larger (PlanOptions.maxRunBytes). */
    readonly maxRunBytes: number,
    /** Largest chunk of a full partition (PlanOptions.fullChunkBytes). */
    readonly fullChunkBytes: number,
  ) {}

  get oldDigests(): BlockDigests | undefined {
    return this.oldView?.digests;
  }

  /**
   * The changed zip members longer than maxRunBytes, which the plan cuts into several ops (a
   * differ that needs them whole, deflate-aware, cannot take them): found only up to
   * PlanOptions.largestRunBytes, and only when a differ keeps members whole. Their count, their
   * bytes and the shortest one's (whole blocks; 0 when none).
   */
  membersCut(): { count: number; sizeBytes: number; shortestBytes: number } {
    const spans = this.newDigests.zipMemberSpans;
    if (!this.oldView || !spans) return { count: 0, sizeBytes: 0, shortestBytes: 0 };
    const maxRunBlocks = Math.floor(this.maxRunBytes / this.blockSizeBytes);
    const cut = changedRunsLongerThan(this.newDigests, this.oldView, spans, maxRunBlocks);
    return {
      count: cut.count,
      sizeBytes: cut.blockCount * this.blockSizeBytes,
      shortestBytes: cut.shortestBlockCount * this.blockSizeBytes,
    };
  }

  /** The old image's anchors, indexed (a delta's planner view). */
  get oldAnchors(): AnchorIndex | undefined {
    return this.oldView?.anchors;
  }

  /** Opens both paths, hashes and plans; the result owns the images and closes them. */
  static async prepare(o: PrepareOptions): Promise<PreparedImages> {
    const next = await openImage(o.newPath);
    let old: BlockSource | undefined;
    try {
      old = o.oldPath ? await openImage(o.oldPath) : undefined;
      // Before the hashing threads size their digests from them.
      for (const image of [next, old]) if (image) assertImageBlockCount(image.path, image.sizeBytes, o.blockSizeBytes);
      const hash = (path: string, withAnchors: boolean, phase: string, zipSpanMaxBlocks?: number) => {
        const digests = o.hashImageFile!(
          { path, blockSizeBytes: o.blockSizeBytes, withAnchors, zipSpanMaxBlocks },
          progressOf(o.reporter, phase),
        );
        // Awaited inside fromSources; an error while this thread still works surfaces there.
        digests.catch(() => undefined);
        return digests;
      };
      const hashed = o.hashImageFile && {
        old: o.oldPath ? hash(o.oldPath, true, 'hashing old') : undefined,
        next: hash(o.newPath, o.oldPath !== undefined, 'hashing new', zipSpanMaxBlocks(o, o.oldPath !== undefined)),
      };
      const prepared = await PreparedImages.fromSources(next, old, o, hashed);
      prepared.owned = true;
      return prepared;
    } catch (err) {
      await old?.close();
      await next.close();
      throw err;
    }
  }

  /**
   * Hashes (both images concurrently) and plans already-open images; close() leaves them open.
   * `hashed`, when given, holds the digests of the images hashed elsewhere (as hashBlocks would).
   */
  static async fromSources(
    next: BlockSource,
    old: BlockSource | undefined,
    o: PlanOptions,
    hashed?: { old?: Promise<BlockDigests>; next?: Promise<BlockDigests> },
  ): Promise<PreparedImages> {
    for (const image of [next, old]) if (image) assertImageBlockCount(image.path, image.sizeBytes, o.blockSizeBytes);
    const progress = (phase: string) => progressOf(o.reporter, phase);
    const zipSpans = zipSpanMaxBlocks(o, old !== undefined);
    const [oldDigests, newDigests] = await o.timed('hashMs', () =>
      Promise.all([
        old
          ? (hashed?.old ??
            hashBlocks(old, o.blockSizeBytes, { onProgress: progress('hashing old'), withAnchors: true }))
          : undefined,
        hashed?.next ??
          hashBlocks(next, o.blockSizeBytes, {
            onProgress: progress('hashing new'),
            withAnchors: old !== undefined,
            zipSpanMaxBlocks: zipSpans,
          }),
      ]),
    );
    const { oldView, items } = await o.timed('planMs', async () => {
      const oldView: OldImageView | undefined = oldDigests
        ? {
            digests: oldDigests,
            index: new DigestIndex(oldDigests),
            anchors: oldDigests.anchors && new AnchorIndex(oldDigests.anchors),
          }
        : undefined;
      const keepWhole = zipSpans === undefined ? undefined : newDigests.zipMemberSpans;
      if (zipSpans !== undefined && keepWhole === undefined)
        throw new Error('the new image was hashed without the zip member scan it was asked for');
      return {
        oldView,
        items: planBlocks(
          newDigests,
          oldView,
          planLimits(o.blockSizeBytes, o.maxRunBytes, o.joinFoundRuns, keepWhole, o.wholeChunkBytes),
        ),
      };
    });
    const fullChunkBytes = o.fullChunkBytes ?? o.maxRunBytes;
    return new PreparedImages(next, old, newDigests, oldView, items, o.blockSizeBytes, o.maxRunBytes, fullChunkBytes);
  }

  /**
   * The same images planned again without zip members kept whole, and with or without joined
   * found runs, without hashing again — compare's plans for combinations whose differs need no
   * whole members (`joinFoundRuns` false: replace-only ones, a REPLACE would store joined blocks
   * as data), as `build` plans them. Closing the view closes nothing.
   */
  replanned(joinFoundRuns: boolean): PreparedImages {
    const limits = planLimits(this.blockSizeBytes, this.maxRunBytes, joinFoundRuns);
    const items = planBlocks(this.newDigests, this.oldView, limits);
    return new PreparedImages(
      this.next,
      this.old,
      this.newDigests,
      this.oldView,
      items,
      this.blockSizeBytes,
      this.maxRunBytes,
      this.fullChunkBytes,
    );
  }

  /**
   * The same new image planned as a full package (no old image), without hashing it again —
   * compare's "best full package" baseline in delta mode. Closing the view closes nothing.
   */
  fullPlanView(): PreparedImages {
    const items = planBlocks(this.newDigests, undefined, planLimits(this.blockSizeBytes, this.maxRunBytes, false));
    return new PreparedImages(
      this.next,
      undefined,
      this.newDigests,
      undefined,
      items,
      this.blockSizeBytes,
      this.maxRunBytes,
      this.fullChunkBytes,
    );
  }

  /** The manifest identity of the new (`target`) or old (`source`) image. */
  identity(which: 'source' | 'target', version: string): ImageIdentity | undefined {
    const d = which === 'target' ? this.newDigests : this.oldDigests;
    const src = which === 'target' ? this.next : this.old;
    if (!d || !src) return undefined;
    return { sizeBytes: src.sizeBytes, sha256: d.imageSha256, version, dontCare: dontCareExtents(d) };
  }

  /** The input as reported by `build --json`. */
  summary(which: 'source' | 'target'): InputSummary | undefined {
    const d = which === 'target' ? this.newDigests : this.oldDigests;
    const src = which === 'target' ? this.next : this.old;
    if (!d || !src) return undefined;
    return {
      path: src.path,
      format: src.format,
      sizeBytes: src.sizeBytes,
      sha256: d.imageSha256.toString('hex'),
      dontCareBlocks: d.dontCareCount,
    };
  }

  /** Closes both images when prepare() opened them. */
  async close(): Promise<void> {
    if (!this.owned) return;
    await this.old?.close();
    await this.next.close();
  }
}
