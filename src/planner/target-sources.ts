// Target sources (A/B, format 1.6): where a changed chunk repeats content the new image already
// holds in blocks written by earlier ops (a second build of a library, a near copy of a file) and
// its old windows lack it, the chunk also diffs against a window of those earlier new blocks.
// Pure: plan items and anchors in, items out. Memory: 4 bytes per new-image block (which item
// writes it) + the new image's anchor index (8 bytes per anchor).

import { AnchorIndex } from '../hashing/anchor-index.js';
import type { AnchorList } from '../hashing/anchor-sampler.js';
import { lowerBound } from '../extents/lower-bound.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import type { ChangedItem, PlanItem } from './plan-items.js';

/**
 * Least anchors of a chunk (about one per KiB of content) that must point at the same earlier
 * place in the new image, and at nothing in the chunk's old windows, before that place becomes a
 * source: fewer say too little to pay for indexing a window of the target.
 */
export const MIN_TARGET_VOTES = 8;
/** Most target-source extents of one op: a window more fragmented than this is not read. */
export const MAX_EXTENTS_PER_CHUNK = 16;
/**
 * Most target-source extents one partition's items get; past it, chunks keep only their old
 * windows. Keeps the manifest well inside its extent counts whatever the image.
 */
export const MAX_PARTITION_EXTENTS = 4096;

/** What addTargetSources needs besides the items. */
export interface TargetSourceOptions {
  readonly blockSizeBytes: number;
  readonly blockCount: number;
  /** The new image's anchors and the old image's (indexed). */
  readonly newAnchors: AnchorList;
  readonly oldAnchors: AnchorIndex;
  /** Most target blocks one chunk reads (the planner's old-window size). */
  readonly windowBlocks: number;
  /** Most source blocks of one op, old and target together (4 × the op limit). */
  readonly maxSourceBlocks: number;
}

/**
 * The A/B delta items with `targetSources` set on the changed chunks whose content the new
 * image repeats from blocks earlier items write (see the file comment). Items keep their order.
 */
export function addTargetSources(items: readonly PlanItem[], o: TargetSourceOptions): PlanItem[] {
  const writer = writersOf(items, o.blockCount);
  const index = new AnchorIndex(o.newAnchors);
  let extentsLeft = MAX_PARTITION_EXTENTS;
  return items.map((item, k) => {
    if (item.kind !== 'changed') return item;
    const budget = Math.min(o.windowBlocks, o.maxSourceBlocks - totalBlocks(item.sources));
    if (budget <= 0) return item;
    const delta = repeatedFrom(item, k, writer, index, o);
    if (delta === undefined) return item;
    const window = windowAround(item.dst, delta, budget);
    const targetSources = writtenBefore(window, k, writer);
    if (targetSources.length === 0 || targetSources.length > Math.min(MAX_EXTENTS_PER_CHUNK, extentsLeft)) return item;
    extentsLeft -= targetSources.length;
    return { ...item, targetSources };
  });
}

/** For each new-image block, the index of the item that writes it (-1: none, e.g. DONT_CARE). */
function writersOf(items: readonly PlanItem[], blockCount: number): Int32Array {
  const writer = new Int32Array(blockCount).fill(-1);
  items.forEach((item, k) => {
    const dst = item.kind === 'changed' ? [item.dst, ...(item.extraDst ?? [])] : [item.dst];
    for (const e of dst) writer.fill(k, e.startBlock, e.startBlock + e.blockCount);
  });
  return writer;
}

/**
 * The block displacement (earlier new − chunk) most of the chunk's anchors vote for, counting only
 * anchors absent from its old windows whose content sits in blocks earlier items write; undefined
 * when no displacement has MIN_TARGET_VOTES.
 */
function repeatedFrom(
  item: ChangedItem,
  k: number,
  writer: Int32Array,
  index: AnchorIndex,
  o: TargetSourceOptions,
): number | undefined {
  const bs = o.blockSizeBytes;
  const { fingerprints, positions, count } = o.newAnchors;
  const end = (item.dst.startBlock + item.dst.blockCount) * bs;
  const votes = new Map<number, number>();
  for (let i = lowerBound(positions, item.dst.startBlock * bs, count); i < count && positions[i]! < end; i++) {
    const fp = fingerprints[i]!;
    if (o.oldAnchors.positionsOf(fp).some((p) => inside(item.sources, Math.floor((p - 1) / bs)))) continue;
    for (const q of index.positionsOf(fp)) {
      const block = Math.floor((q - 1) / bs);
      const w = writer[block]!;
      if (w < 0 || w >= k) continue;
      const d = Math.round((q - positions[i]!) / bs);
      votes.set(d, (votes.get(d) ?? 0) + 1);
    }
  }
  let best: number | undefined;
  let bestVotes = MIN_TARGET_VOTES - 1;
  for (const [d, n] of votes) {
    // Ties go to the nearest place (displacements are negative: the largest), whatever the map order.
    if (n > bestVotes || (n === bestVotes && best !== undefined && d > best)) {
      best = d;
      bestVotes = n;
    }
  }
  return best;
}

/** Whether block `b` lies in one of `extents`. */
function inside(extents: readonly Extent[], b: number): boolean {
  return extents.some((e) => b >= e.startBlock && b < e.startBlock + e.blockCount);
}

/** `budget` blocks centred on the chunk moved by `delta` (clipped at the image start). */
function windowAround(dst: Extent, delta: number, budget: number): Extent {
  const centre = dst.startBlock + delta + Math.floor(dst.blockCount / 2);
  const start = Math.max(0, centre - Math.floor(budget / 2));
  return { startBlock: start, blockCount: budget };
}

/** The blocks of `window` that items before `k` write, as ascending extents. */
function writtenBefore(window: Extent, k: number, writer: Int32Array): Extent[] {
  const out: Extent[] = [];
  const end = Math.min(writer.length, window.startBlock + window.blockCount);
  for (let b = window.startBlock; b < end;) {
    if (writer[b]! < 0 || writer[b]! >= k) {
      b++;
      continue;
    }
    const start = b;
    while (b < end && writer[b]! >= 0 && writer[b]! < k) b++;
    out.push({ startBlock: start, blockCount: b - start });
  }
  return out;
}
