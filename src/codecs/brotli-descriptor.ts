// Brotli's shared facts (RFC 7932): wire id 2, qualities 0..11, the window fitted to the input
// (the encoder sets it, the device's ring buffer is sized by it) and the decoder's memory.

import { CodecWireId, type CodecDescriptor } from './codec-descriptor.js';
import { CODEC_LEVELS } from './codec-levels.js';
import { windowLogFor } from './window-log.js';

/** Brotli's window limits (RFC 7932 §9.1, without the large-window extension). */
const MIN_LGWIN = 10;
const MAX_LGWIN = 24;
/**
 * Decoder state beyond the ring buffer: ~8 KiB of fixed state plus the Huffman tables a stream
 * declares. Our encoder's streams stay well under this; a crafted stream with the maximum of
 * 256 trees per category could need ~3 MiB more (the blob sha256 is checked before decoding).
 */
export const BROTLI_DECODER_STATE_BYTES = 128 * 1024;

/**
 * Brotli's qualities 0 and 1 (its one- and two-pass fast modes) write a window of at least 2^18
 * whatever they are asked for.
 */
const FAST_QUALITY_MAX = 1;
const FAST_QUALITY_MIN_LGWIN = 18;

/**
 * Window log of a stream of `inputBytes` at `quality` (default: any but the fast ones):
 * `ceil(log2(input))`, 10..24, and at least 18 at qualities 0 and 1. A window of `2 ** lgwin`
 * reaches back `2 ** lgwin - 16` bytes, so only the last 16 bytes of a power-of-two input lose
 * the very first ones as match candidates (no measurable size cost), while the decoder's ring
 * buffer stays at the input size instead of doubling.
 */
export function brotliWindowLog(inputBytes: number, quality = FAST_QUALITY_MAX + 1): number {
  const fitted = windowLogFor(inputBytes, MIN_LGWIN, MAX_LGWIN);
  return quality <= FAST_QUALITY_MAX ? Math.max(FAST_QUALITY_MIN_LGWIN, fitted) : fitted;
}

/** Brotli (wire id 2), qualities 0..11, default 9. */
export const BROTLI_CODEC: CodecDescriptor = {
  name: 'brotli',
  wireId: CodecWireId.brotli,
  ...CODEC_LEVELS.brotli,
  /** The ring buffer (`2 ** lgwin` for this input) plus decoder state and Huffman tables. */
  decoderMemoryBytes: (level, inputBytes) => 2 ** brotliWindowLog(inputBytes, level) + BROTLI_DECODER_STATE_BYTES,
};
