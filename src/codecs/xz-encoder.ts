// xz encoder through lzma-native: the preset's LZMA2 settings with a dictionary fitted to the
// input (after the x86 or ARM64 BCJ filter for x86 or AArch64 code, and with lc/lp/pb fitted to
// the content of large chunks: EncodeOptions), one .xz stream with a CRC64 check.
// Output decodes with `xz -d` (the ARM64 chain with xz >= 5.4).

import { MINOR_XZ_ARM64 } from '../format/package-header.js';
import lzma, { type LzmaFilter } from 'lzma-native';
import { assertLevel } from './codec-errors.js';
import type { EncodeOptions, Encoder } from './encoder.js';
import { byteLaneGapBits, lzma2TuningFor, XZ_DEFAULT_TUNING, type XzContentTuning } from './lzma2-content-tuning.js';
import { arm64BcjEncode } from './arm64-bcj.js';
import { encodeThrough } from './raw-lzma2.js';
import { crc64Bytes } from './xz-checksums.js';
import { lzma2DictProperty, writeXzStream } from './xz-container.js';
import { BCJ_DECODER_STATE_BYTES, XZ_CODEC, xzDictBytes } from './xz-descriptor.js';
import { FILTER_ARM64, FILTER_LZMA2 } from './xz-filter-chain.js';

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
   * bench images it beat zstd -19 by 5-9 % and brotli -11 on code and binary data by 1-3 %, and
   * (with lc/lp/pb fitted) brotli -9 on text (JS with its data) by 6-11 % on all 14 text chunks
   * of patch-64 and major-64.
   */
  readonly traits = { speedClass: 'slow', probeOrder: 0, suitedContent: ['x86', 'binary', 'text'] } as const;

  /**
   * Compresses with the preset's LZMA2 settings (as `xz -<level>`) but a dictionary fitted to
   * the input; with `options.x86Code`, the x86 BCJ filter (no start offset) runs before LZMA2
   * (patch-64's full package: 1.034 -> ~0.99 x `xz -9e`); with `options.arm64Code`, the ARM64
   * BCJ filter (our own, liblzma 5.2 lacks it: arm64-bcj.ts; container written here: arm64-64's
   * full package 1.013 -> ~0.986 x `xz -9e`); with `options.contentClass`, lc/lp/pb
   * fitted to the content (lzma2TuningFor; the stream carries them, decoder memory is the same).
   * Runs in the libuv pool. Memory: about 10x the dictionary (BT4 match finder).
   */
  async encode(data: Uint8Array, level: number, options?: EncodeOptions): Promise<Buffer> {
    assertLevel(this.name, level, this.minLevel, this.maxLevel);
    const tuning =
      options?.contentClass === undefined
        ? XZ_DEFAULT_TUNING
        : lzma2TuningFor(options.contentClass, options.laneGapBits ?? byteLaneGapBits(data));
    const dictBytes = xzDictBytes(level, data.length);
    const lzma2 = { id: lzma.FILTER_LZMA2, options: lzma2Options(level, dictBytes, tuning) };
    if (options?.arm64Code === true) return encodeArm64(data, lzma2, dictBytes);
    const encoder = lzma.createStream('streamEncoder', {
      filters: options?.x86Code === true ? [{ id: lzma.FILTER_X86 }, lzma2] : [lzma2],
      check: lzma.CHECK_CRC64,
    });
    return encodeThrough(encoder, data, 'xz');
  }

  /** The LZMA2 dictionary and state, plus a BCJ filter's state when one is used. */
  decoderMemoryBytesWith(level: number, inputBytes: number, options: EncodeOptions): number {
    const bcj = options.x86Code === true || options.arm64Code === true ? BCJ_DECODER_STATE_BYTES : 0;
    return XZ_CODEC.decoderMemoryBytes(level, inputBytes) + bcj;
  }

  /** The ARM64 chain needs format 1.4 (a 1.3 reader refuses the blob); the others need nothing. */
  formatMinorWith(options: EncodeOptions): number {
    return options.arm64Code === true ? MINOR_XZ_ARM64 : 0;
  }
}

/**
 * One .xz stream (CRC64 check) with the chain [ARM64 BCJ (no start offset), LZMA2]: the filter
 * on a copy of `data`, liblzma's raw LZMA2 encoder on that, the container by writeXzStream.
 */
async function encodeArm64(data: Uint8Array, lzma2: LzmaFilter, dictBytes: number): Promise<Buffer> {
  const filtered = arm64BcjEncode(Buffer.from(data));
  const compressed = await encodeThrough(lzma.createStream('rawEncoder', { filters: [lzma2] }), filtered, 'xz');
  return writeXzStream({
    checkId: lzma.CHECK_CRC64,
    filters: [
      { id: FILTER_ARM64, properties: new Uint8Array(0) },
      { id: FILTER_LZMA2, properties: Uint8Array.of(lzma2DictProperty(dictBytes)) },
    ],
    compressed,
    uncompressedBytes: data.length,
    check: crc64Bytes(data),
  });
}

/**
 * LZMA2 options of xz preset `level` with `dictBytes` as the dictionary and `tuning`'s lc/lp/pb
 * (the preset's are 3/0/2) and longer nice length. lzma-native applies a `preset` after
 * `dictSize`, so the preset is spelled out here (liblzma lzma_lzma_preset).
 */
function lzma2Options(level: number, dictBytes: number, tuning: XzContentTuning): Record<string, number> {
  const fast = level <= 3;
  return {
    dictSize: dictBytes,
    lc: tuning.lc,
    lp: tuning.lp,
    pb: tuning.pb,
    mode: fast ? lzma.MODE_FAST : lzma.MODE_NORMAL,
    mf: fast ? (level === 0 ? lzma.MF_HC3 : lzma.MF_HC4) : lzma.MF_BT4,
    niceLen: fast ? (level <= 1 ? 128 : 273) : Math.max(level === 4 ? 16 : level === 5 ? 32 : 64, tuning.niceLen ?? 0),
    depth: fast ? ([4, 8, 24, 48][level] ?? 0) : 0,
  };
}
