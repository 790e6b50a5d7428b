// The identity decoder: a length check and a copy.

import { assertExpectedSize, blobDecodeError } from './codec-errors.js';
import { decodeOutput } from './decode-output.js';
import type { Decoder } from './decoder.js';
import { NONE_CODEC } from './none-descriptor.js';

/** Reads blobs stored as they are (wire id 0). */
export class NoneDecoder implements Decoder {
  readonly name = NONE_CODEC.name;
  readonly wireId = NONE_CODEC.wireId;

  /** Returns a copy of `data` (in `into` when given) after checking it is exactly `expectedSizeBytes` long. */
  async decode(data: Uint8Array, expectedSizeBytes: number, _memoryBytes?: number, into?: Buffer): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    if (data.length !== expectedSizeBytes) {
      throw blobDecodeError(this.name, `blob is ${data.length} bytes, declared ${expectedSizeBytes}`);
    }
    const output = decodeOutput(expectedSizeBytes, into);
    output.set(data);
    return output;
  }
}
