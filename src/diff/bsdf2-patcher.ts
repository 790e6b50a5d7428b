// The bsdf2 patcher: the device-side half of the bsdf2 plugin. The patch layout and its
// checked decoding live in bsdf2-patch.ts; this only binds them to the Patcher contract.

import { assertExpectedSize } from '../codecs/codec-errors.js';
import { applyBsdf2Patch } from './bsdf2-patch.js';
import { BSDF2_DIFFER } from './bsdf2-descriptor.js';
import type { Patcher } from './patcher.js';

/** Applies bsdf2 patches (wire id 3): BSDF2, as update_engine reads them. */
export class Bsdf2Patcher implements Patcher {
  readonly name = BSDF2_DIFFER.name;
  readonly wireId = BSDF2_DIFFER.wireId;

  /**
   * Applies a BSDF2 patch in memory into exactly `expectedSizeBytes` (see applyBsdf2Patch). Throws
   * PackageFormatError (`BLOB_DECODE_FAILED`) on a corrupt, truncated or hostile patch.
   */
  async patch(source: Uint8Array, patch: Uint8Array, expectedSizeBytes: number, memoryBytes?: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    return applyBsdf2Patch(source, patch, expectedSizeBytes, memoryBytes);
  }
}
