// Brotli decoder through Node's bundled zlib: decodes into exactly the declared size, capped,
// and rejects bytes after the stream.

import zlib from 'node:zlib';
import { BROTLI_CODEC } from './brotli-descriptor.js';
import { decodeStreamCapped } from './capped-stream-decode.js';
import { assertExpectedSize, blobDecodeError } from './codec-errors.js';
import type { Decoder } from './decoder.js';

/** Largest decoder output chunk; also the most a bomb can produce past the cap. */
const MAX_CHUNK_BYTES = 16 * 1024;

/** Reads brotli blobs (wire id 2). */
export class BrotliDecoder implements Decoder {
  readonly name = BROTLI_CODEC.name;
  readonly wireId = BROTLI_CODEC.wireId;

  /**
   * Decodes `data` into exactly `expectedSizeBytes`, stopping at the first chunk past the cap.
   * Rejects bytes after the end of the brotli stream (Node's decoder silently ignores them).
   */
  async decode(data: Uint8Array, expectedSizeBytes: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    const decoder = zlib.createBrotliDecompress({
      chunkSize: Math.min(MAX_CHUNK_BYTES, Math.max(64, expectedSizeBytes)),
    });
    const out = await decodeStreamCapped(this.name, decoder, data, expectedSizeBytes);
    if (decoder.bytesWritten !== data.length) {
      throw blobDecodeError(this.name, `${data.length - decoder.bytesWritten} trailing bytes after the brotli stream`);
    }
    return out;
  }
}
