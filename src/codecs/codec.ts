// Codec: the contract every compression plugin meets. Plugins register by stable wire id in
// codec-registry.ts; the planner and applier only ever see this interface.

import type { CodecName } from '../model/wire-ids.js';

/** Stable wire ids written into packages (defined in model/wire-ids.ts). */
export { CodecWireId, type CodecName } from '../model/wire-ids.js';

/** A compression format. Encoding may run in worker threads; decoding runs in the applier. */
export interface Codec {
  readonly name: CodecName;
  readonly wireId: number;
  readonly minLevel: number;
  readonly maxLevel: number;
  /** Level used when the user gives none (favours size; `auto` tries this one). */
  readonly defaultLevel: number;
  /**
   * Compresses `data` at `level`. Deterministic: the same input and level give the same bytes.
   * Memory: about the codec's window plus input and output.
   */
  encode(data: Uint8Array, level: number): Promise<Buffer>;
  /**
   * Decompresses `data`, which must expand to exactly `expectedSizeBytes`. Never allocates or
   * produces more than `expectedSizeBytes` (a decompression bomb stops at the cap).
   * Throws PackageFormatError (`BLOB_DECODE_FAILED`) on corrupt data or a size mismatch.
   */
  decode(data: Uint8Array, expectedSizeBytes: number): Promise<Buffer>;
  /** Memory the device's decoder needs for a stream encoded at `level` from `inputBytes`. */
  decoderMemoryBytes(level: number, inputBytes: number): number;
}
