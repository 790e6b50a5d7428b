// The bsdiff patcher: the device-side half of the bsdiff plugin. The patch layout and its
// checked decoding live in bsdiff-patch.ts; this only binds them to the Patcher contract.

import { assertExpectedSize } from '../codecs/codec-errors.js';
import { applyBsdiffPatch } from './bsdiff-patch.js';
import { BSDIFF_DIFFER } from './bsdiff-descriptor.js';
import type { Patcher } from './patcher.js';

/** Applies bsdiff patches (wire id 1): BSDIFF40, as `bspatch` reads them. */
export class BsdiffPatcher implements Patcher {
  readonly name = BSDIFF_DIFFER.name;
  readonly wireId = BSDIFF_DIFFER.wireId;

  /**
   * Applies a BSDIFF40 patch in memory. The header must declare exactly `expectedSizeBytes` and
   * blocks inside the patch; every control tuple is bounds-checked before it is used. Throws
   * PackageFormatError (`BLOB_DECODE_FAILED`) on a corrupt, truncated or hostile patch.
   */
  async patch(source: Uint8Array, patch: Uint8Array, expectedSizeBytes: number, memoryBytes?: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    return applyBsdiffPatch(source, patch, expectedSizeBytes, memoryBytes);
  }
}
