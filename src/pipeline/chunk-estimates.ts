// What quick estimates say about one chunk, each made at most once: the estimating codec's size
// (zstd -1), a middle differ's estimate from the chunk's source, and from those whether the source
// helps the byte differs at all. Read by the encoding rules (encode-chunk.ts); traits, never names.

import { encoderByName } from '../codecs/encoder-registry.js';
import type { Differ } from '../diff/differ.js';
import { differByName } from '../diff/differ-registry.js';
import type { DiffSpec, ReplaceSpec } from '../planner/candidates.js';
import type { EncodeTask } from './encode-task.js';
import { SMALL_CHUNK_BYTES } from './full-image-rules.js';
import { hasQuickEstimate, quickEstimateBytes } from './quick-estimate.js';

/**
 * A chunk the quick estimate (zstd -1) leaves at least this share of is poorly compressible
 * (compressed files: fonts, images, archives). There, and only there, the source's help is
 * measured before the byte differs run: a dozen changed chunks of the bench pairs are over it;
 * patch and code chunks are at 0.3-0.55.
 */
const DENSE_SHARE_OF_ESTIMATE = 0.6;

/**
 * On a poorly compressible chunk, the byte differs run only where the source takes at least this
 * share off a middle differ's estimate. On the bench pairs the dense chunks measured either under
 * 0.2 % (new font files in major-64: every diff lost to brotli, after ~2.5 s of CPU each) or over
 * 13 % (archives whose other members are unchanged).
 */
const MIN_SOURCE_GAIN_SHARE = 0.02;

/** A differ that declares an estimate. */
export type EstimatingDiffer = Differ & Required<Pick<Differ, 'estimate'>>;

/** True when `differ` declares an estimate. */
export const hasEstimate = (differ: Differ): differ is EstimatingDiffer => differ.estimate !== undefined;

/** One chunk's estimates, each computed on first use. */
export class ChunkEstimates {
  private quick: Promise<number> | undefined;
  private readonly fromSource = new Map<string, Promise<number>>();

  constructor(private readonly task: Pick<EncodeTask, 'newData' | 'sourceData' | 'targets'>) {}

  /** Bytes of the chunk coded by the estimating codec (hasQuickEstimate first). */
  quickBytes(): Promise<number> {
    return (this.quick ??= quickEstimateBytes(this.task.newData));
  }

  /** `differ`'s estimate of its patch from the chunk's source. */
  fromSourceBytes(differ: EstimatingDiffer): Promise<number> {
    let made = this.fromSource.get(differ.name);
    if (made === undefined) {
      made = differ.estimate(this.task.sourceData, this.task.newData);
      this.fromSource.set(differ.name, made);
    }
    return made;
  }

  /**
   * False when a large, poorly compressible chunk (quick estimate at least DENSE_SHARE_OF_ESTIMATE
   * of it) gains less than MIN_SOURCE_GAIN_SHARE from its source, as a middle differ's estimate
   * (zstd-dict: level 9, the source as dictionary) measures it against the same estimate from no
   * source. The source then holds next to none of the chunk's bytes, and a byte differ can only
   * code the chunk about as a strong (`slow`) replace codec does, for several times the time.
   * True elsewhere: on small chunks, chunks without a source, chunks the quick estimate codes
   * below that share, where no codec declares a quick estimate or no middle differ with an
   * estimate is among `diffSpecs`, and where some target could not use a slow codec among
   * `replaceSpecs` (REPLACE not allowed, or only the fast codecs: a diff may beat those by far).
   */
  async sourceHelpsByteDiffers(diffSpecs: readonly DiffSpec[], replaceSpecs: readonly ReplaceSpec[]): Promise<boolean> {
    const sizeBytes = this.task.newData.length;
    if (sizeBytes <= SMALL_CHUNK_BYTES || this.task.sourceData.length === 0 || !hasQuickEstimate()) return true;
    const slow = replaceSpecs.filter((s) => encoderByName(s.codec).traits.speedClass === 'slow');
    if (slow.length === 0) return true;
    const usesSlow = (t: NonNullable<EncodeTask['targets']>[number]) =>
      t.allowedOperations.includes('replace') && slow.some((s) => t.allowedCodecs.includes(s.codec));
    if (this.task.targets?.some((t) => !usesSlow(t))) return true;
    const estimating = diffSpecs
      .map((s) => differByName(s.differ))
      .find((d): d is EstimatingDiffer => d.traits.tier === 'middle' && hasEstimate(d));
    if (estimating === undefined) return true;
    if ((await this.quickBytes()) < sizeBytes * DENSE_SHARE_OF_ESTIMATE) return true;
    const aloneBytes = await estimating.estimate(new Uint8Array(0), this.task.newData);
    const withSourceBytes = await this.fromSourceBytes(estimating);
    return withSourceBytes <= aloneBytes * (1 - MIN_SOURCE_GAIN_SHARE);
  }
}
