// Which format minor version a package needs: the lowest that describes it (FORMAT.md §7), so
// single-image packages signed by one key stay readable by 1.0 readers.

import { isUnchanged, type Manifest, type PartitionUpdate } from '../model/manifest.js';
import type { TargetHeader } from '../model/target-header.js';
import {
  MINOR_IN_PLACE,
  MINOR_MULTI_SIGNATURE,
  MINOR_RELEASE_LAYOUT,
  MINOR_SOURCELESS_DIFF,
  MINOR_TARGET_SOURCE,
} from './package-header.js';
import { targetSourceOf } from '../model/operation.js';

/**
 * 6 when some DIFF op reads blocks of the image being written (1.6), else 4 when some DIFF op has no source extents (1.4), else 3 when the package is an in-place package (1.3), else 2 when it is signed by more than one key
 * (1.2), else 1 when it carries release layouts or unchanged partitions (1.1 features), else 0.
 */
export function minorVersionOf(
  targetHeader: TargetHeader,
  manifest: Pick<Manifest, 'partitions'>,
  signatureCount = 1,
): number {
  if (manifest.partitions.some((p) => p.operations.some((op) => targetSourceOf(op).length > 0)))
    return MINOR_TARGET_SOURCE;
  if (manifest.partitions.some(hasSourcelessDiff)) return MINOR_SOURCELESS_DIFF;
  if (targetHeader.updateMode === 'in-place' || manifest.partitions.some(usesInPlaceFields)) return MINOR_IN_PLACE;
  if (signatureCount > 1) return MINOR_MULTI_SIGNATURE;
  const uses11 =
    targetHeader.releaseLayout !== '' ||
    targetHeader.partitionLayouts.length > 0 ||
    manifest.partitions.some(isUnchanged);
  return uses11 ? MINOR_RELEASE_LAYOUT : 0;
}

/** True when a partition has a DIFF op that reads no source at all (1.4). */
export function hasSourcelessDiff(p: PartitionUpdate): boolean {
  return p.operations.some((op) => op.type === 'diff' && op.src.length === 0 && targetSourceOf(op).length === 0);
}

/** True when a partition carries a 1.3 field: STASH/FREE ops, stash ids, dst hashes, conversions. */
function usesInPlaceFields(p: PartitionUpdate): boolean {
  return (
    (p.convertedReplaceOps ?? 0) > 0 ||
    p.operations.some(
      (op) =>
        op.type === 'stash' ||
        op.type === 'free' ||
        ((op.type === 'copy' || op.type === 'diff') && (op.stashIds?.length ?? 0) > 0) ||
        ((op.type === 'replace' || op.type === 'diff') && op.dstSha256 !== undefined),
    )
  );
}
