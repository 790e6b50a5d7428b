// PreparedImages: the expensive, option-independent part of a build, done once — open both
// images, hash every block, index the old image and plan the new one. `build` encodes it once;
// `compare` encodes the same plan with many codec/differ combinations.
// Memory: two digest arrays (34 bytes per block each), the old-image index and the plan.

import { dontCareExtents, hashBlocks, type BlockDigests } from '../hashing/block-digests.js';
import { AnchorIndex } from '../hashing/anchor-index.js';
import { DigestIndex } from '../hashing/digest-index.js';
import type { BlockSource } from '../image/block-source.js';
import { openImage } from '../image/open-image.js';
import type { ImageIdentity } from '../model/manifest.js';
import { planBlocks } from '../planner/plan-blocks.js';
import type { PlanItem } from '../planner/plan-items.js';
import type { Reporter } from '../reporter.js';
import type { InputSummary } from './build-options.js';

/** Largest changed chunk handed to one encoder task (op memory stays bounded). */
export const CHUNK_BYTES = 1024 * 1024;

/** What to prepare. */
export interface PrepareOptions {
  readonly oldPath?: string;
  readonly newPath: string;
  readonly blockSizeBytes: number;
  /** Smallest maxOperationBytes among the targets: no planned run is larger. */
  readonly maxRunBytes: number;
  readonly reporter: Reporter;
  /** Records a phase's duration (e.g. `hashMs`). */
  readonly timed: <T>(phase: string, f: () => Promise<T>) => Promise<T>;
}

/** Opened, hashed and planned images. Close it when done. */
export class PreparedImages {
  private constructor(
    readonly next: BlockSource,
    readonly old: BlockSource | undefined,
    readonly newDigests: BlockDigests,
    readonly oldDigests: BlockDigests | undefined,
    readonly items: readonly PlanItem[],
    readonly blockSizeBytes: number,
  ) {}

  /** Opens, hashes (both images concurrently) and plans. */
  static async prepare(o: PrepareOptions): Promise<PreparedImages> {
    const next = await openImage(o.newPath);
    let old: BlockSource | undefined;
    try {
      old = o.oldPath ? await openImage(o.oldPath) : undefined;
      const progress = (phase: string) => (done: number, total: number) => o.reporter.progress({ phase, done, total });
      const [oldDigests, newDigests] = await o.timed('hashMs', () =>
        Promise.all([old ? hashBlocks(old, o.blockSizeBytes, progress('hashing old'), true) : undefined, hashBlocks(next, o.blockSizeBytes, progress('hashing new'), old !== undefined)]),
      );
      const items = await o.timed('planMs', async () => {
        const oldView = oldDigests ? { digests: oldDigests, index: new DigestIndex(oldDigests), anchors: oldDigests.anchors && new AnchorIndex(oldDigests.anchors) } : undefined;
        const chunkBlocks = Math.max(1, Math.floor(Math.min(CHUNK_BYTES, o.maxRunBytes) / o.blockSizeBytes));
        return planBlocks(newDigests, oldView, { maxRunBlocks: Math.floor(o.maxRunBytes / o.blockSizeBytes), chunkBlocks, maxSourceBlocks: 4 * chunkBlocks });
      });
      return new PreparedImages(next, old, newDigests, oldDigests, items, o.blockSizeBytes);
    } catch (err) {
      await old?.close();
      await next.close();
      throw err;
    }
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
    return { path: src.path, format: src.format, sizeBytes: src.sizeBytes, sha256: d.imageSha256.toString('hex'), dontCareBlocks: d.dontCareCount };
  }

  /** Closes both images. */
  async close(): Promise<void> {
    await this.old?.close();
    await this.next.close();
  }
}
