// Patcher: the device-side half of a binary-diff plugin. Patchers register by wire id in
// patcher-registry.ts; the applier, verifier and the build's self-check only see this interface.
// Nothing here or in any patcher imports a differ.

import type { DifferName } from '../model/wire-ids.js';

/** Applies patches of one patch format. */
export interface Patcher {
  readonly name: DifferName;
  readonly wireId: number;
  /**
   * Applies `patch` to `source`; the result must be exactly `expectedSizeBytes` long and is
   * never allowed to grow past it. `memoryBytes` is the op's declared decoder memory: no decoded
   * patch block may be larger (absent: only the format's own caps apply). Throws
   * PackageFormatError (`BLOB_DECODE_FAILED`) otherwise.
   */
  patch(
    source: Uint8Array,
    patch: Uint8Array,
    expectedSizeBytes: number,
    memoryBytes?: number,
    output?: OutputBuffer,
  ): Promise<Buffer>;
}

/**
 * Where a patcher may put its output instead of a fresh allocation: a buffer of `sizeBytes` (any
 * contents) that the caller reuses once it is done with the result. An applier passes one so a
 * fresh multi-MiB buffer (page faults on every byte) is not paid per op; patchers may ignore it.
 */
export type OutputBuffer = (sizeBytes: number) => Buffer;
