// gzip decoder through Node's bundled zlib: inflates into exactly the declared size, capped.

import zlib from 'node:zlib';
import { decodeStreamCapped } from './capped-stream-decode.js';
import { assertExpectedSize, blobDecodeError } from './codec-errors.js';
import type { Decoder } from './decoder.js';
import { GZIP_CODEC } from './gzip-descriptor.js';

/** Largest decoder output chunk; also the most a bomb can produce past the cap. */
const MAX_CHUNK_BYTES = 16 * 1024;

/** Reads gzip blobs (wire id 1). */
export class GzipDecoder implements Decoder {
  readonly name = GZIP_CODEC.name;
  readonly wireId = GZIP_CODEC.wireId;

  /**
   * Inflates `data` into exactly `expectedSizeBytes`, stopping at the first chunk past the
   * cap. Rejects trailing bytes after the gzip data.
   */
  async decode(data: Uint8Array, expectedSizeBytes: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    const gunzip = zlib.createGunzip({ chunkSize: Math.min(MAX_CHUNK_BYTES, Math.max(64, expectedSizeBytes)) });
    const out = await decodeStreamCapped(this.name, gunzip, data, expectedSizeBytes);
    if (gunzip.bytesWritten !== data.length) {
      throw blobDecodeError(this.name, `${data.length - gunzip.bytesWritten} trailing bytes after the gzip data`);
    }
    return out;
  }
}
