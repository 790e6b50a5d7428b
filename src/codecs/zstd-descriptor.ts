// Zstandard's shared facts (RFC 8878): wire id 3, levels 1..22, the window fitted to the input
// and the streaming decoder's memory (the model itself lives in zstd-frame.ts).

import { CodecWireId, type CodecDescriptor } from './codec-descriptor.js';
import { CODEC_LEVELS } from './codec-levels.js';
import { windowLogFor } from './window-log.js';
import { zstdStreamingDecoderBytes, ZSTD_MAX_WINDOW_LOG, ZSTD_MIN_WINDOW_LOG } from './zstd-frame.js';

/** Window log for a frame of `inputBytes`: `ceil(log2(inputBytes))` clamped to 10..27. */
export function zstdWindowLog(inputBytes: number): number {
  return windowLogFor(inputBytes, ZSTD_MIN_WINDOW_LOG, ZSTD_MAX_WINDOW_LOG);
}

/** Zstandard (wire id 3), levels 1..22, default 19. One frame with content size and checksum. */
export const ZSTD_CODEC: CodecDescriptor = {
  name: 'zstd',
  wireId: CodecWireId.zstd,
  ...CODEC_LEVELS.zstd,
  /**
   * Window (the content size: our frames are single-segment, at least 1 KiB) plus the
   * streaming decoder's block buffers and context, independent of level.
   */
  decoderMemoryBytes: (_level, inputBytes) =>
    zstdStreamingDecoderBytes(Math.min(2 ** zstdWindowLog(inputBytes), Math.max(inputBytes, 2 ** ZSTD_MIN_WINDOW_LOG))),
};
