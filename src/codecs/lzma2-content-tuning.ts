// LZMA2 literal/position bits (lc, lp, pb) chosen by a large chunk's content: 4-byte
// structured data (AArch64 code, tables of 32-bit words) gets lp=2/pb=2, x86 code and text
// pb=0, the rest xz's defaults. The decoder reads them from the stream; nothing else changes.
// Pure: bytes in, numbers out.

import type { ContentClass } from '../hashing/content-sketch.js';
import type { Lzma2Tuning } from './raw-lzma2.js';

/** lc/lp/pb and, for some content, a longer match-finder nice length than the preset's. */
export interface XzContentTuning extends Lzma2Tuning {
  /** Nice length for normal-mode presets (4..9) when longer than theirs; absent: the preset's. */
  readonly niceLen?: number;
}

/** xz's preset settings (lc 3, lp 0, pb 2). */
export const XZ_DEFAULT_TUNING: XzContentTuning = { lc: 3, lp: 0, pb: 2 };
/**
 * Nice length for text: on the 8 text chunks of major-64 (JS with its data), 128 instead of
 * preset 9's 64 saved 0.85 % for 21 % more CPU time (273: 1.2 % for 53 % more).
 */
const TEXT_NICE_LEN = 128;

/**
 * Bits of byte entropy the four byte lanes of nonzero 4-byte words save over all their bytes
 * from which a chunk counts as 4-byte structured. On the bench's full-image chunks (64 MiB
 * pairs, 4 MiB ops) lp=2/pb=2 won 1-2.6 % on the AArch64 chunks (0.15-0.76 bits) and lost at
 * most 0.4 % on the others above 0.1; x86 code and text sit below 0.03.
 */
const ALIGNED_LANE_GAP_BITS = 0.1;
/**
 * Above this gap lc=0 beat lc=1 (AArch64 code: 0.42-0.76 bits); between the two, lc=1 lost
 * least on other binary data and lc=0 on x86 code.
 */
const STRONGLY_ALIGNED_LANE_GAP_BITS = 0.3;

/**
 * Whether data with this byteLaneGapBits is strongly 4-byte structured (at least
 * STRONGLY_ALIGNED_LANE_GAP_BITS), as AArch64 code is; it may still count as x86 by its E8/E9
 * bytes. There the x86 BCJ filter cost 3.4 % (arm64-64's one such chunk, 0.42 bits), so
 * encodeOptions does not ask for it; on x86 code with a weaker skew (0.125 bits: code and
 * tables) it still saved 3.4 %.
 */
export function isStronglyWordStructured(laneGapBits: number): boolean {
  return laneGapBits >= STRONGLY_ALIGNED_LANE_GAP_BITS;
}

/**
 * The tuning for a chunk of class `contentClass` whose byteLaneGapBits is `gap`:
 * lp=2/pb=2 (lc 0 or 1) when its 4-byte lanes are skewed, else lc=4/pb=0 for x86 code (won 0.3-0.6 % on
 * every x86 chunk of the bench), lc=3/pb=0 (0.2-0.4 %) and nice length TEXT_NICE_LEN for text,
 * else xz's defaults.
 */
export function lzma2TuningFor(contentClass: ContentClass, gap: number): XzContentTuning {
  if (gap >= ALIGNED_LANE_GAP_BITS) {
    return { lc: isStronglyWordStructured(gap) || contentClass === 'x86' ? 0 : 1, lp: 2, pb: 2 };
  }
  if (contentClass === 'x86') return { lc: 4, lp: 0, pb: 0 };
  if (contentClass === 'text') return { lc: 3, lp: 0, pb: 0, niceLen: TEXT_NICE_LEN };
  return XZ_DEFAULT_TUNING;
}

/**
 * How much more predictable a byte is when its position mod 4 is known: the byte entropy of the
 * nonzero 4-byte words (at 4-byte aligned offsets) minus the mean entropy of their four byte
 * lanes, in bits. 0 for data without 4-byte structure (text, x86 code, compressed data).
 */
export function byteLaneGapBits(data: Uint8Array): number {
  const lanes = [0, 1, 2, 3].map(() => new Float64Array(256));
  const words = Math.floor(data.length / 4);
  let kept = 0;
  for (let w = 0, at = 0; w < words; w++, at += 4) {
    const b0 = data[at]!;
    const b1 = data[at + 1]!;
    const b2 = data[at + 2]!;
    const b3 = data[at + 3]!;
    if ((b0 | b1 | b2 | b3) === 0) continue;
    kept++;
    lanes[0]![b0]!++;
    lanes[1]![b1]!++;
    lanes[2]![b2]!++;
    lanes[3]![b3]!++;
  }
  if (kept === 0) return 0;
  const all = new Float64Array(256);
  for (const lane of lanes) for (let b = 0; b < 256; b++) all[b]! += lane[b]!;
  const meanLane = lanes.reduce((t, lane) => t + entropyBits(lane, kept), 0) / 4;
  return entropyBits(all, kept * 4) - meanLane;
}

/** Shannon entropy (bits per symbol) of a histogram with `total` counts. */
function entropyBits(counts: Float64Array, total: number): number {
  let bits = 0;
  for (const c of counts) if (c > 0) bits -= (c / total) * Math.log2(c / total);
  return bits;
}
