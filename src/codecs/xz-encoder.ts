// xz encoder through lzma-native: the preset's LZMA2 settings with a dictionary fitted to the
// input, one .xz stream with a CRC64 check. Output decodes with `xz -d`.

import lzma from 'lzma-native';
import { assertLevel } from './codec-errors.js';
import type { Encoder } from './encoder.js';
import { encodeThrough } from './raw-lzma2.js';
import { XZ_CODEC, xzDictBytes } from './xz-descriptor.js';

/** xz (wire id 4), presets 0..9, default 9; one .xz stream with a CRC64 check. */
export class XzEncoder implements Encoder {
  readonly name = XZ_CODEC.name;
  readonly wireId = XZ_CODEC.wireId;
  readonly minLevel = XZ_CODEC.minLevel;
  readonly maxLevel = XZ_CODEC.maxLevel;
  readonly defaultLevel = XZ_CODEC.defaultLevel;
  readonly decoderMemoryBytes = XZ_CODEC.decoderMemoryBytes;
  /**
   * Slow; the strongest on firmware data, so it probes first. On full-image 4 MiB chunks of the
   * bench images it beat zstd -19 by 5-9 % and brotli -11 on code and binary data by 1-3 %.
   */
  readonly traits = { speedClass: 'slow', probeOrder: 0, suitedContent: ['x86', 'binary'] } as const;

  /**
   * Compresses with the preset's LZMA2 settings (as `xz -<level>`) but a dictionary fitted to
   * the input. Runs in the libuv pool. Memory: about 10x the dictionary (BT4 match finder).
   */
  async encode(data: Uint8Array, level: number): Promise<Buffer> {
    assertLevel(this.name, level, this.minLevel, this.maxLevel);
    const encoder = lzma.createStream('streamEncoder', {
      filters: [{ id: lzma.FILTER_LZMA2, options: lzma2Options(level, xzDictBytes(level, data.length)) }],
      check: lzma.CHECK_CRC64,
    });
    return encodeThrough(encoder, data, 'xz');
  }
}

/**
 * LZMA2 options of xz preset `level` with `dictBytes` as the dictionary. lzma-native applies a
 * `preset` after `dictSize`, so the preset is spelled out here (liblzma lzma_lzma_preset).
 */
function lzma2Options(level: number, dictBytes: number): Record<string, number> {
  const fast = level <= 3;
  return {
    dictSize: dictBytes,
    lc: 3,
    lp: 0,
    pb: 2,
    mode: fast ? lzma.MODE_FAST : lzma.MODE_NORMAL,
    mf: fast ? (level === 0 ? lzma.MF_HC3 : lzma.MF_HC4) : lzma.MF_BT4,
    niceLen: fast ? (level <= 1 ? 128 : 273) : level === 4 ? 16 : level === 5 ? 32 : 64,
    depth: fast ? ([4, 8, 24, 48][level] ?? 0) : 0,
  };
}
