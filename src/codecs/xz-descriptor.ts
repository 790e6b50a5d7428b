// xz's shared facts (.xz container, LZMA2): wire id 4, presets 0..9, the dictionary fitted to
// the input (the encoder uses it, the device allocates it) and the decoder's memory.

import { CodecWireId, type CodecDescriptor } from './codec-descriptor.js';
import { CODEC_LEVELS } from './codec-levels.js';
import { LZMA2_DECODER_STATE_BYTES, LZMA2_MIN_DICT_LOG } from './raw-lzma2.js';
import { ceilLog2 } from './window-log.js';

/** Dictionary log of each xz preset 0..9 (liblzma lzma_lzma_preset). */
const PRESET_DICT_LOG = [18, 20, 21, 22, 22, 23, 23, 24, 25, 26] as const;

/** Declared for a BCJ filter's decoder state, x86 or ARM64 (liblzma: ~100 bytes plus a 4 KiB-bounded buffer). */
export const BCJ_DECODER_STATE_BYTES = 16 * 1024;

/** LZMA2 dictionary for a preset and input: the preset's, shrunk to nextPow2(input), at least 4 KiB. */
export function xzDictBytes(level: number, inputBytes: number): number {
  const presetBytes = 2 ** (PRESET_DICT_LOG[level] ?? PRESET_DICT_LOG[9]);
  return Math.min(presetBytes, Math.max(2 ** LZMA2_MIN_DICT_LOG, 2 ** ceilLog2(inputBytes)));
}

/** xz (wire id 4), presets 0..9, default 9; one .xz stream with a CRC64 check. */
export const XZ_CODEC: CodecDescriptor = {
  name: 'xz',
  wireId: CodecWireId.xz,
  ...CODEC_LEVELS.xz,
  /** The LZMA2 dictionary for this preset and input plus ~64 KiB of decoder state. */
  decoderMemoryBytes: (level, inputBytes) => xzDictBytes(level, inputBytes) + LZMA2_DECODER_STATE_BYTES,
};
