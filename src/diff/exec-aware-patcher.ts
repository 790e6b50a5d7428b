// The exec-aware patcher: the device-side half of the exec-aware plugin. The patch layout, its
// checks and the apply live in exec-aware-patch.ts; this binds them to the Patcher contract.

import { assertExpectedSize } from '../codecs/codec-errors.js';
import { EXEC_AWARE_DIFFER } from './exec-aware-descriptor.js';
import { applyExecAwarePatch } from './exec-aware-patch.js';
import type { PatchBuffers, Patcher } from './patcher.js';

/** Applies exec-aware patches (wire id 6). */
export class ExecAwarePatcher implements Patcher {
  readonly name = EXEC_AWARE_DIFFER.name;
  readonly wireId = EXEC_AWARE_DIFFER.wireId;

  /**
   * Applies an exec-aware patch into exactly `expectedSizeBytes` (see applyExecAwarePatch).
   * Throws PackageFormatError (`BLOB_DECODE_FAILED`) on a corrupt, truncated or hostile patch,
   * or one that needs more than the op's declared `memoryBytes`.
   */
  async patch(
    source: Uint8Array,
    patch: Uint8Array,
    expectedSizeBytes: number,
    memoryBytes?: number,
    buffers?: PatchBuffers,
  ): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    return applyExecAwarePatch(source, patch, expectedSizeBytes, memoryBytes, buffers);
  }
}
