// How much the ARM64 BCJ filter (arm64-bcj.ts) would help a chunk: the share of its nonzero
// 4-byte words by which converting BL and ADRP immediates to absolute values shrinks the count of
// distinct immediates (calls to one function from many places become one repeated value). Pure.

import { convertibleAdrpPages, isBl, littleEndianWords } from './arm64-bcj.js';

/**
 * From this gain the filter is used. On arm64-64's full-image ops the filter won 3-7 % at 0.022
 * and 0.054 and lost 2-6 % at -0.005..0.001 (data and tables that look 4-byte structured).
 */
export const ARM64_FILTER_MIN_GAIN = 0.005;

/**
 * (distinct BL imm26 + distinct in-range ADRP page offsets) minus the same counts after the
 * filter's conversion (start offset 0), over the nonzero 4-byte aligned words; 0 without any.
 * Near 0 or negative for x86 code, text and data; positive for AArch64 code.
 */
export function arm64FilterGain(data: Uint8Array): number {
  const view = littleEndianWords(data);
  const relative = new Set<number>();
  const absolute = new Set<number>();
  let nonzeroWords = 0;
  for (let w = 0, i = 0; i + 4 <= data.length; w++, i += 4) {
    const word = view.get(w);
    if (word === 0) continue;
    nonzeroWords++;
    if (isBl(word)) {
      relative.add(word & 0x03ffffff);
      absolute.add((word + (i >>> 2)) & 0x03ffffff);
      continue;
    }
    const pages = convertibleAdrpPages(word);
    if (pages < 0) continue;
    // Tagged above 2^26 so page offsets never collide with BL immediates.
    relative.add(0x04000000 + pages);
    absolute.add(0x04000000 + ((pages + (i >>> 12)) & 0x0003ffff));
  }
  return nonzeroWords === 0 ? 0 : (relative.size - absolute.size) / nonzeroWords;
}
