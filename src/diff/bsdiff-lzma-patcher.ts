// The bsdiff-lzma patcher: the device-side half of the bsdiff-lzma plugin. The patch layout and its
// checked decoding live in bsdiff-lzma-patch.ts; this only binds them to the Patcher contract.

import { assertExpectedSize } from '../codecs/codec-errors.js';
import { applyBsdiffLzmaPatch } from './bsdiff-lzma-patch.js';
import { BSDIFF_LZMA_DIFFER } from './bsdiff-lzma-descriptor.js';
import type { PatchBuffers, Patcher } from './patcher.js';

/** Applies bsdiff-lzma patches (wire id 4). */
export class BsdiffLzmaPatcher implements Patcher {
  readonly name = BSDIFF_LZMA_DIFFER.name;
  readonly wireId = BSDIFF_LZMA_DIFFER.wireId;

  /**
   * Applies a bsdiff-lzma patch in memory into exactly `expectedSizeBytes` (see
   * applyBsdiffLzmaPatch). Throws PackageFormatError (`BLOB_DECODE_FAILED`) on a corrupt, truncated
   * or hostile patch.
   */
  async patch(
    source: Uint8Array,
    patch: Uint8Array,
    expectedSizeBytes: number,
    memoryBytes?: number,
    buffers?: PatchBuffers,
  ): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    return applyBsdiffLzmaPatch(source, patch, expectedSizeBytes, memoryBytes, buffers);
  }
}
