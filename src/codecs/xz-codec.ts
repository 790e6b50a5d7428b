// xz (.xz container, LZMA2, CRC64 integrity check) through lzma-native. Owns the presets, the
// dictionary fitted to the input, the container checks done before decoding, and the capped,
// memory-limited decoder. Output decodes with `xz -d`.

import lzma from 'lzma-native';
import { CodecWireId, type Codec } from './codec.js';
import { decodeStreamCapped } from './capped-stream-decode.js';
import { assertExpectedSize, assertLevel, blobDecodeError } from './codec-errors.js';
import { encodeThrough, LZMA2_DECODER_STATE_BYTES, LZMA2_MIN_DICT_LOG, lzmaInputSliceBytes } from './raw-lzma2.js';
import { hexBytes } from '../errors/ota-error.js';
import { ceilLog2 } from './window-log.js';

/** Dictionary log of each xz preset 0..9 (liblzma lzma_lzma_preset). */
const PRESET_DICT_LOG = [18, 20, 21, 22, 22, 23, 23, 24, 25, 26] as const;
/** Headroom on the decode memlimit for other liblzma versions' bookkeeping. */
const MEMLIMIT_SLACK_BYTES = 64 * 1024;
/** .xz stream header magic (xz file format §2.1.1.1). */
const STREAM_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] as const;
/** Integrity check ids we accept: CRC32, CRC64, SHA-256. "None" is refused. */
const ACCEPTED_CHECKS = new Set([0x01, 0x04, 0x0a]);

/** LZMA2 dictionary for a preset and input: the preset's, shrunk to nextPow2(input), at least 4 KiB. */
export function xzDictBytes(level: number, inputBytes: number): number {
  const presetBytes = 2 ** (PRESET_DICT_LOG[level] ?? PRESET_DICT_LOG[9]);
  return Math.min(presetBytes, Math.max(2 ** LZMA2_MIN_DICT_LOG, 2 ** ceilLog2(inputBytes)));
}

/** xz (wire id 4), presets 0..9, default 9; one .xz stream with a CRC64 check. */
export class XzCodec implements Codec {
  readonly name = 'xz' as const;
  readonly wireId = CodecWireId.xz;
  readonly minLevel = 0;
  readonly maxLevel = 9;
  /** 9: with the dictionary fitted to the input, presets 6..9 cost the same and 9 never loses. */
  readonly defaultLevel = 9;

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

  /**
   * Checks the container (magic, an integrity check other than None, footer), then decodes
   * with a memlimit that fits a dictionary for `expectedSizeBytes` and stops as soon as the
   * output passes it. Input is fed in slices so one slice expands to at most ~max(4 MiB,
   * expected) inside liblzma before the cap is seen.
   */
  async decode(data: Uint8Array, expectedSizeBytes: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    checkContainer(data);
    const memlimit = this.decoderMemoryBytes(this.maxLevel, expectedSizeBytes) + MEMLIMIT_SLACK_BYTES;
    const decoder = lzma.createStream('streamDecoder', { memlimit, synchronous: true });
    return decodeStreamCapped(this.name, decoder, data, expectedSizeBytes, {
      inputSliceBytes: lzmaInputSliceBytes(expectedSizeBytes),
    });
  }

  /** The LZMA2 dictionary for this preset and input plus ~64 KiB of decoder state. */
  decoderMemoryBytes(level: number, inputBytes: number): number {
    return xzDictBytes(level, inputBytes) + LZMA2_DECODER_STATE_BYTES;
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

/** Stream header magic, flags with a real integrity check, footer magic and matching flags. */
function checkContainer(data: Uint8Array): void {
  if (data.length < 32) throw blobDecodeError('xz', `stream is ${data.length} bytes, shorter than an empty .xz stream`);
  if (!STREAM_MAGIC.every((b, i) => data[i] === b)) {
    throw blobDecodeError(
      'xz',
      `bad magic at offset 0: expected fd 37 7a 58 5a 00, got ${hexBytes(data.subarray(0, 6))}`,
    );
  }
  const checkId = data[7] ?? 0;
  if (data[6] !== 0 || !ACCEPTED_CHECKS.has(checkId)) {
    throw blobDecodeError(
      'xz',
      `stream flags ${hexBytes(data.subarray(6, 8))}: need an integrity check of CRC32, CRC64 or SHA-256`,
    );
  }
  const end = data.length;
  if (data[end - 2] !== 0x59 || data[end - 1] !== 0x5a)
    throw blobDecodeError('xz', 'stream footer magic "YZ" missing at the end');
  if (data[end - 4] !== data[6] || data[end - 3] !== data[7])
    throw blobDecodeError('xz', 'stream footer flags differ from the header');
}
