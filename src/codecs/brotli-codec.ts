// Brotli (RFC 7932) through Node's bundled encoder. Owns the level range, the window sizing that
// keeps the device's ring buffer no larger than the input, and the capped decoder.

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { CodecWireId, type Codec } from './codec.js';
import { decodeStreamCapped } from './capped-stream-decode.js';
import { assertExpectedSize, assertLevel, blobDecodeError } from './codec-errors.js';
import { windowLogFor } from './window-log.js';

const brotliCompressAsync = promisify(zlib.brotliCompress);

/** Brotli's window limits (RFC 7932 §9.1, without the large-window extension). */
const MIN_LGWIN = 10;
const MAX_LGWIN = 24;
/**
 * Decoder state beyond the ring buffer: ~8 KiB of fixed state plus the Huffman tables a stream
 * declares. Our encoder's streams stay well under this; a crafted stream with the maximum of
 * 256 trees per category could need ~3 MiB more (the blob sha256 is checked before decoding).
 */
const DECODER_STATE_BYTES = 128 * 1024;
/** Largest decoder output chunk; also the most a bomb can produce past the cap. */
const MAX_CHUNK_BYTES = 16 * 1024;

/**
 * Window log for `inputBytes`: `ceil(log2(input))`, 10..24. A window of `2 ** lgwin` reaches
 * back `2 ** lgwin - 16` bytes, so only the last 16 bytes of a power-of-two input lose the very
 * first ones as match candidates (no measurable size cost), while the decoder's ring buffer
 * stays at the input size instead of doubling.
 */
export function brotliWindowLog(inputBytes: number): number {
  return windowLogFor(inputBytes, MIN_LGWIN, MAX_LGWIN);
}

/** Brotli (wire id 2), qualities 0..11, default 9. */
export class BrotliCodec implements Codec {
  readonly name = 'brotli' as const;
  readonly wireId = CodecWireId.brotli;
  readonly minLevel = 0;
  readonly maxLevel = 11;
  /**
   * 9: on 1 MiB of an ELF binary, 10 and 11 are 9-14% smaller but 10-40x slower (0.3-1.6 MiB/s)
   * and still lose to xz -9 on size, so brotli's useful point is fast decent compression.
   */
  readonly defaultLevel = 9;

  /**
   * Compresses with quality `level`, a window fitted to the input and the input size as a hint.
   * Memory: a few times the window (quality 10-11: about 10x).
   */
  async encode(data: Uint8Array, level: number): Promise<Buffer> {
    assertLevel(this.name, level, this.minLevel, this.maxLevel);
    return brotliCompressAsync(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: level,
        [zlib.constants.BROTLI_PARAM_LGWIN]: brotliWindowLog(data.length),
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_GENERIC,
      },
    });
  }

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

  /** The ring buffer (`2 ** lgwin` for this input) plus decoder state and Huffman tables. */
  decoderMemoryBytes(_level: number, inputBytes: number): number {
    return 2 ** brotliWindowLog(inputBytes) + DECODER_STATE_BYTES;
  }
}
