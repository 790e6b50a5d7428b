// Zstandard encoder through zstd-napi: one frame with the window fitted to the input.

import { assertLevel } from './codec-errors.js';
import type { Encoder } from './encoder.js';
import { ZSTD_CODEC, zstdWindowLog } from './zstd-descriptor.js';
import { encodeZstdFrame } from './zstd-frame.js';

/** Zstandard (wire id 3), levels 1..22, default 19. One frame with content size and checksum. */
export class ZstdEncoder implements Encoder {
  readonly name = ZSTD_CODEC.name;
  readonly wireId = ZSTD_CODEC.wireId;
  readonly minLevel = ZSTD_CODEC.minLevel;
  readonly maxLevel = ZSTD_CODEC.maxLevel;
  readonly defaultLevel = ZSTD_CODEC.defaultLevel;
  readonly decoderMemoryBytes = ZSTD_CODEC.decoderMemoryBytes;
  /** Slow at its default level; second after xz on firmware data. Level 1 (~2 ms a MiB) estimates. */
  readonly traits = { speedClass: 'slow', probeOrder: 1, estimateLevel: 1 } as const;

  /**
   * Compresses `data` single-threaded with a window of `ceil(log2(size))` (10..27), so the
   * frame is single-segment and the device's window is the content size.
   * Memory: roughly 10x the window at level 19.
   */
  async encode(data: Uint8Array, level: number): Promise<Buffer> {
    assertLevel(this.name, level, this.minLevel, this.maxLevel);
    return encodeZstdFrame(data, { level, windowLog: zstdWindowLog(data.length) });
  }
}
