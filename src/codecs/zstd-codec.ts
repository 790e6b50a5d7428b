// Zstandard (RFC 8878) through zstd-napi. Owns the level range and the window fitted to the
// input; the frame encoding, the checked decoding and the memory model live in zstd-frame.ts.

import { CodecWireId, type Codec } from './codec.js';
import { assertExpectedSize, assertLevel } from './codec-errors.js';
import { windowLogFor } from './window-log.js';
import {
  decodeZstdFrame,
  encodeZstdFrame,
  zstdStreamingDecoderBytes,
  ZSTD_MAX_WINDOW_LOG,
  ZSTD_MIN_WINDOW_LOG,
} from './zstd-frame.js';

/** Zstandard (wire id 3), levels 1..22, default 19. One frame with content size and checksum. */
export class ZstdCodec implements Codec {
  readonly name = 'zstd' as const;
  readonly wireId = CodecWireId.zstd;
  readonly minLevel = 1;
  readonly maxLevel = 22;
  readonly defaultLevel = 19;

  /**
   * Compresses `data` single-threaded with a window of `ceil(log2(size))` (10..27), so the
   * frame is single-segment and the device's window is the content size.
   * Memory: roughly 10x the window at level 19.
   */
  async encode(data: Uint8Array, level: number): Promise<Buffer> {
    assertLevel(this.name, level, this.minLevel, this.maxLevel);
    return encodeZstdFrame(data, { level, windowLog: zstdWindowLog(data.length) });
  }

  /** Decodes one frame into exactly `expectedSizeBytes` (see decodeZstdFrame for the checks). */
  async decode(data: Uint8Array, expectedSizeBytes: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    return decodeZstdFrame(this.name, data, expectedSizeBytes);
  }

  /**
   * Window (the content size: our frames are single-segment, at least 1 KiB) plus the
   * streaming decoder's block buffers and context, independent of level.
   */
  decoderMemoryBytes(_level: number, inputBytes: number): number {
    const windowBytes = Math.min(2 ** zstdWindowLog(inputBytes), Math.max(inputBytes, 2 ** ZSTD_MIN_WINDOW_LOG));
    return zstdStreamingDecoderBytes(windowBytes);
  }
}

/** Window log for a frame of `inputBytes`: `ceil(log2(inputBytes))` clamped to 10..27. */
export function zstdWindowLog(inputBytes: number): number {
  return windowLogFor(inputBytes, ZSTD_MIN_WINDOW_LOG, ZSTD_MAX_WINDOW_LOG);
}
