// Which format minor version a package needs: the lowest that describes it (FORMAT.md §7), so
// single-image packages signed by one key stay readable by 1.0 readers.

import { isUnchanged, type Manifest } from '../model/manifest.js';
import type { TargetHeader } from '../model/target-header.js';
import { MINOR_MULTI_SIGNATURE, MINOR_RELEASE_LAYOUT } from './package-header.js';

/**
 * 2 when the package is signed by more than one key (1.2), else 1 when it carries release layouts
 * or unchanged partitions (1.1 features), else 0.
 */
export function minorVersionOf(targetHeader: TargetHeader, manifest: Manifest, signatureCount = 1): number {
  if (signatureCount > 1) return MINOR_MULTI_SIGNATURE;
  const uses11 =
    targetHeader.releaseLayout !== '' ||
    targetHeader.partitionLayouts.length > 0 ||
    manifest.partitions.some(isUnchanged);
  return uses11 ? MINOR_RELEASE_LAYOUT : 0;
}
