// The steps that write one partition: the package's operations, or for an unchanged partition
// `keep` steps that copy the old image's blocks (DONT_CARE ranges skipped), 1 MiB at a time.

import { blockCountOf } from '../format/manifest-invariants.js';
import type { Extent } from '../model/extent.js';
import { isUnchanged, type PartitionUpdate } from '../model/manifest.js';
import type { Operation } from '../model/operation.js';

/**
 * One write of the applier: a package op, or `keep` — copy the same blocks from the old image
 * (an unchanged partition, whose source hash was checked as a whole just before).
 */
export type ApplyStep = Operation | { readonly type: 'keep'; readonly dst: readonly Extent[] };

/** Blocks per `keep` step: 1 MiB at 4 KiB blocks. */
const KEEP_STEP_BYTES = 1024 * 1024;

/** The steps that write a partition, in order. */
export function applySteps(part: PartitionUpdate, blockSizeBytes: number): readonly ApplyStep[] {
  if (!isUnchanged(part)) return part.operations;
  const blocks = blockCountOf(part.target.sizeBytes, blockSizeBytes);
  const perStep = Math.max(1, Math.floor(KEEP_STEP_BYTES / blockSizeBytes));
  const dontCare = [...part.target.dontCare].sort((a, b) => a.startBlock - b.startBlock);
  const steps: ApplyStep[] = [];
  let at = 0;
  const keep = (until: number) => {
    for (; at < until; at = Math.min(until, at + perStep))
      steps.push({ type: 'keep', dst: [{ startBlock: at, blockCount: Math.min(perStep, until - at) }] });
  };
  for (const d of dontCare) {
    keep(d.startBlock);
    at = d.startBlock + d.blockCount;
  }
  keep(blocks);
  return steps;
}
