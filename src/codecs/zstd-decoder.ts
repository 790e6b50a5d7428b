// Zstandard decoder through zstd-napi: one checked frame into exactly the declared size.

import { assertExpectedSize } from './codec-errors.js';
import type { Decoder } from './decoder.js';
import { ZSTD_CODEC } from './zstd-descriptor.js';
import { decodeZstdFrame } from './zstd-frame.js';

/** Reads zstd blobs (wire id 3). */
export class ZstdDecoder implements Decoder {
  readonly name = ZSTD_CODEC.name;
  readonly wireId = ZSTD_CODEC.wireId;

  /** Decodes one frame into exactly `expectedSizeBytes` (see decodeZstdFrame for the checks). */
  async decode(data: Uint8Array, expectedSizeBytes: number, _memoryBytes?: number, into?: Buffer): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    return decodeZstdFrame(this.name, data, expectedSizeBytes, undefined, into);
  }
}
