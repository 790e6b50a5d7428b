// The deflate-aware patcher: the device-side half of the deflate-aware plugin. The patch layout,
// its checks and the capped apply live in deflate-aware-patch.ts; this binds them to the Patcher contract.

import { assertExpectedSize } from '../codecs/codec-errors.js';
import { DEFLATE_AWARE_DIFFER } from './deflate-aware-descriptor.js';
import { applyDeflateAwarePatch } from './deflate-aware-patch.js';
import type { PatchBuffers, PatchOptions, Patcher } from './patcher.js';

/** Applies deflate-aware patches (wire id 5). */
export class DeflateAwarePatcher implements Patcher {
  readonly name = DEFLATE_AWARE_DIFFER.name;
  readonly wireId = DEFLATE_AWARE_DIFFER.wireId;

  /**
   * Applies a deflate-aware patch into exactly `expectedSizeBytes` (see applyDeflateAwarePatch).
   * Throws PackageFormatError (`BLOB_DECODE_FAILED`) on a corrupt, truncated or hostile patch,
   * or one that needs more than the op's declared `memoryBytes`. Its working buffers and the
   * result are the applier's when it lends them (`buffers`). The build's self-check gives it the
   * re-deflations the differ proved (`options.proven`).
   */
  async patch(
    source: Uint8Array,
    patch: Uint8Array,
    expectedSizeBytes: number,
    memoryBytes?: number,
    buffers?: PatchBuffers,
    options?: PatchOptions,
  ): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    return applyDeflateAwarePatch(source, patch, expectedSizeBytes, memoryBytes, buffers, options?.proven);
  }
}
