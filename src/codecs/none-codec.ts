// The identity codec: blobs are the raw bytes. Useful for incompressible data, where any real
// codec only adds its framing. Decoding is a length check and a copy.

import { CodecWireId, type Codec } from './codec.js';
import { assertExpectedSize, assertLevel, blobDecodeError } from './codec-errors.js';

/** Stores bytes as they are (wire id 0). Has a single level, 0. */
export class NoneCodec implements Codec {
  readonly name = 'none' as const;
  readonly wireId = CodecWireId.none;
  readonly minLevel = 0;
  readonly maxLevel = 0;
  readonly defaultLevel = 0;

  /** Returns a copy of `data`. */
  async encode(data: Uint8Array, level: number): Promise<Buffer> {
    assertLevel(this.name, level, this.minLevel, this.maxLevel);
    return Buffer.from(data);
  }

  /** Returns a copy of `data` after checking it is exactly `expectedSizeBytes` long. */
  async decode(data: Uint8Array, expectedSizeBytes: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    if (data.length !== expectedSizeBytes) {
      throw blobDecodeError(this.name, `blob is ${data.length} bytes, declared ${expectedSizeBytes}`);
    }
    return Buffer.from(data);
  }

  /** Nothing beyond the caller's own buffers: bytes stream straight through. */
  decoderMemoryBytes(_level: number, _inputBytes: number): number {
    return 0;
  }
}
