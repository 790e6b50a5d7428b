// Extent: a run of whole blocks in an image. Pure vocabulary, no I/O.

/** A contiguous run of blocks: `[startBlock, startBlock + blockCount)`. */
export interface Extent {
  readonly startBlock: number;
  readonly blockCount: number;
}

/** Sum of `blockCount` over a list of extents. */
export function totalBlocks(extents: readonly Extent[]): number {
  let count = 0;
  for (const e of extents) count += e.blockCount;
  return count;
}
