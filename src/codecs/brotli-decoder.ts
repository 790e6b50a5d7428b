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
   * Refuses a window (2^WBITS, the decoder's ring buffer) larger than `memoryBytes`, the op's
   * declared decoder memory, and bytes after the end of the stream (Node's decoder ignores them).
   */
  async decode(data: Uint8Array, expectedSizeBytes: number, memoryBytes?: number, into?: Buffer): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    const windowBits = brotliWindowBits(data);
    if (memoryBytes !== undefined && 2 ** windowBits > memoryBytes)
      throw blobDecodeError(
        this.name,
        `stream window 2^${windowBits} bytes is larger than the op's declared ${memoryBytes} bytes of decoder memory`,
      );
    const decoder = zlib.createBrotliDecompress({
      chunkSize: Math.min(MAX_CHUNK_BYTES, Math.max(64, expectedSizeBytes)),
    });
    const out = await decodeStreamCapped(this.name, decoder, data, expectedSizeBytes, into);
    if (decoder.bytesWritten !== data.length) {
      throw blobDecodeError(this.name, `${data.length - decoder.bytesWritten} trailing bytes after the brotli stream`);
    }
    return out;
  }
}

/** WBITS of a brotli stream header (RFC 7932 §9.1); refuses an empty stream and the large-window escape. */
export function brotliWindowBits(data: Uint8Array): number {
  if (data.length === 0) throw blobDecodeError('brotli', 'empty stream');
  const b = data[0]! | ((data[1] ?? 0) << 8);
  if ((b & 1) === 0) return 16;
  const n = (b >> 1) & 7;
  if (n !== 0) return 17 + n;
  const m = (b >> 4) & 7;
  if (m === 1) throw blobDecodeError('brotli', 'large-window stream (not RFC 7932)');
  return m === 0 ? 17 : 8 + m;
}
