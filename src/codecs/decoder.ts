// Decoder: the device-side half of a compression plugin. Decoders register by wire id in
// decoder-registry.ts; the applier, verifier and the build's self-check only see this interface.
// Nothing here or in any decoder imports an encoder.

import type { CodecName } from '../model/wire-ids.js';

/** Decompresses the blobs of one codec. */
export interface Decoder {
  readonly name: CodecName;
  readonly wireId: number;
  /**
   * Decompresses `data`, which must expand to exactly `expectedSizeBytes`. Never allocates or
   * produces more than `expectedSizeBytes` (a decompression bomb stops at the cap).
   * `memoryBytes` is the op's declared decoder memory: a stream that needs a larger dictionary or
   * window is refused (absent: the dictionary or window must fit the output, FORMAT.md §4).
   * With `into` (a buffer of exactly `expectedSizeBytes`, its contents overwritten), the output is
   * decoded into it and it is returned: an applier reuses its buffers instead of allocating one
   * per op. Throws PackageFormatError (`BLOB_DECODE_FAILED`) on corrupt data or a size mismatch;
   * `into` then holds undefined bytes.
   */
  decode(data: Uint8Array, expectedSizeBytes: number, memoryBytes?: number, into?: Buffer): Promise<Buffer>;
}
