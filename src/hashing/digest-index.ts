// DigestIndex: finds a block with a given digest anywhere in the old image. One sorted
// BigUint64Array of keys (the digest's first 36 bits ‖ the 28-bit block index); a hit is
// confirmed on the full 32 bytes. Memory: 8 bytes per non-zero old block; up to 2^28 blocks.

import { ImageError } from '../errors/ota-error.js';
import type { BlockDigests } from './block-digests.js';
import { lowerBound } from '../extents/lower-bound.js';

const INDEX_BITS = 28n;
const INDEX_MASK = (1n << INDEX_BITS) - 1n;
/** Most blocks an image may have to be indexed. */
export const DIGEST_INDEX_MAX_BLOCKS = Number(INDEX_MASK);

/**
 * Lookup from block digest to the first old block with that digest (zero and DONT_CARE blocks
 * excluded; with `include`, only the blocks it accepts: the planner indexes a new image's changed
 * blocks this way to find repeats).
 */
export class DigestIndex {
  private readonly keys: BigUint64Array;

  constructor(
    private readonly old: BlockDigests,
    include: (block: number) => boolean = () => true,
  ) {
    if (BigInt(old.blockCount) > INDEX_MASK) {
      throw new ImageError(
        'IMAGE_TOO_LARGE',
        `old image has ${old.blockCount} blocks; at most ${INDEX_MASK} can be indexed`,
      );
    }
    let n = 0;
    const indexed = (i: number) => !old.zero[i] && !old.dontCare[i] && include(i);
    for (let i = 0; i < old.blockCount; i++) if (indexed(i)) n++;
    this.keys = new BigUint64Array(n);
    n = 0;
    for (let i = 0; i < old.blockCount; i++) {
      if (!indexed(i)) continue;
      this.keys[n++] = (this.prefixAt(old.digests, i * 32) << INDEX_BITS) | BigInt(i);
    }
    // Equal prefixes sort by block index, so the first match is the lowest block: deterministic.
    this.keys.sort();
  }

  /** Index of the first old block whose digest equals `digests[at..at+32)`, or -1. */
  find(digests: Buffer, at: number): number {
    const prefix = this.prefixAt(digests, at);
    const lo = prefix << INDEX_BITS;
    for (let k = lowerBound(this.keys, lo); k < this.keys.length && this.keys[k]! >> INDEX_BITS === prefix; k++) {
      const i = Number(this.keys[k]! & INDEX_MASK);
      if (this.old.digests.compare(digests, at, at + 32, i * 32, i * 32 + 32) === 0) return i;
    }
    return -1;
  }

  /** The first 36 bits of a digest. */
  private prefixAt(digests: Buffer, at: number): bigint {
    return digests.readBigUInt64BE(at) >> 28n;
  }
}
