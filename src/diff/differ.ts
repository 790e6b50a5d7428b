// Differ: the contract every binary-diff plugin meets. Plugins register by stable wire id in
// differ-registry.ts; the planner and applier only ever see this interface.

import type { DifferName } from '../model/wire-ids.js';

/** Stable wire ids written into packages (defined in model/wire-ids.ts). */
export { DifferWireId, type DifferName } from '../model/wire-ids.js';

/** Makes a patch from `source` to `target` and applies it. */
export interface Differ {
  readonly name: DifferName;
  readonly wireId: number;
  /**
   * Returns a patch that turns `source` into `target`. Deterministic for the same inputs.
   * Memory: stated by each implementation (bsdiff ≈ 17 × source, zstd-dict ≈ window + both inputs).
   */
  diff(source: Uint8Array, target: Uint8Array): Promise<Buffer>;
  /**
   * Applies `patch` to `source`; the result must be exactly `expectedSizeBytes` long and is
   * never allowed to grow past it. Throws PackageFormatError (`BLOB_DECODE_FAILED`) otherwise.
   */
  patch(source: Uint8Array, patch: Uint8Array, expectedSizeBytes: number): Promise<Buffer>;
  /** Memory the device's patcher needs for these sizes. */
  decoderMemoryBytes(sourceBytes: number, targetBytes: number): number;
}
