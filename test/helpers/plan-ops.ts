// Minimal manifest pieces for applier-side unit tests: extents, REPLACE and ZERO ops (no real
// blob) and a partition of a given size, for code that only reads ops' destinations.

import type { Extent } from '../../src/model/extent.js';
import type { PartitionUpdate } from '../../src/model/manifest.js';
import type { Operation } from '../../src/model/operation.js';

/** An extent of `blockCount` blocks at `startBlock`. */
export const ext = (startBlock: number, blockCount: number): Extent => ({ startBlock, blockCount });

/** A REPLACE op writing `dst` (codec none, an empty blob reference). */
export const replaceOp = (...dst: Extent[]): Operation => ({
  type: 'replace',
  dst,
  codec: 'none',
  blob: { offsetBytes: 0, sizeBytes: 0, sha256: new Uint8Array(32) },
  decoderMemoryBytes: 0,
});

/** A ZERO op over `dst`. */
export const zeroOp = (...dst: Extent[]): Operation => ({ type: 'zero', dst });

/** A full partition of `sizeBytes` with these ops and DONT_CARE extents (target hash all zeros). */
export function partitionOf(sizeBytes: number, operations: Operation[], dontCare: Extent[] = []): PartitionUpdate {
  const target = { sizeBytes, sha256: new Uint8Array(32), version: '', dontCare };
  return { name: 'p', source: undefined, target, operations };
}
