// The plan of a full partition (no old image) regrouped by content before encoding: the changed
// blocks are cut into segments, each sketched (hashing/content-sketch.ts), and alike segments are
// gathered into chunks of up to `chunkBytes` (planner/gather-similar.ts). Reads the new image once
// more, one planned chunk at a time. Memory: one chunk plus ~4 bytes per sampled shingle
// (about 1/64 of the nonzero bytes).

import { sketchSegment } from '../hashing/content-sketch.js';
import type { BlockSource } from '../image/block-source.js';
import { gatherSimilar, type SketchedSegment } from '../planner/gather-similar.js';
import type { PlanItem, PlanStep, ZeroItem } from '../planner/plan-items.js';
import { MAX_RUN_BYTES } from './prepared-images.js';

/** Segment size: small enough to keep unlike files of one run apart, large enough to sample well. */
const SEGMENT_BYTES = 64 * 1024;
/** Most segments a partition is cut into (bigger segments beyond): bounds the extents and the work. */
const MAX_SEGMENTS = 16384;

/**
 * The full plan `items` (zero and changed items only) with the changed ones gathered by content,
 * into chunks of up to `chunkBytes`, of dense (compressed) content up to MAX_RUN_BYTES: a
 * sourceless deflate-aware DIFF inflates such content ~3-4 x within its own budget (16 MiB a
 * side), and a wider LZMA context does not shrink it. On apk-64 (zip archives) 8 MiB chunks made
 * the full package 16.4 MB against 14.1 MB with 4 MiB ones.
 */
export async function gatherFullChunks(
  next: BlockSource,
  items: readonly PlanItem[],
  blockSizeBytes: number,
  chunkBytes: number,
): Promise<PlanStep[]> {
  const zeros: ZeroItem[] = [];
  let changedBlocks = 0;
  for (const item of items) {
    if (item.kind === 'zero') zeros.push(item);
    else if (item.kind === 'changed') changedBlocks += item.dst.blockCount;
    else return [...items]; // not a full plan: nothing to gather
  }
  const maxRunBlocks = Math.max(1, Math.floor(chunkBytes / blockSizeBytes));
  const perSegment = Math.max(
    1,
    Math.min(maxRunBlocks, Math.floor(SEGMENT_BYTES / blockSizeBytes)),
    Math.ceil(changedBlocks / MAX_SEGMENTS),
  );
  const segments: SketchedSegment[] = [];
  for (const item of items) {
    if (item.kind !== 'changed') continue;
    const { startBlock, blockCount } = item.dst;
    const data = await next.read(startBlock * blockSizeBytes, blockCount * blockSizeBytes);
    for (let at = 0; at < blockCount; at += perSegment) {
      const count = Math.min(perSegment, blockCount - at);
      const bytes = data.subarray(at * blockSizeBytes, (at + count) * blockSizeBytes);
      segments.push({ dst: { startBlock: startBlock + at, blockCount: count }, sketch: sketchSegment(bytes) });
    }
  }
  const maxDenseBlocks = Math.max(1, Math.floor(Math.min(chunkBytes, MAX_RUN_BYTES) / blockSizeBytes));
  return gatherSimilar(zeros, segments, maxRunBlocks, maxDenseBlocks);
}
