// The ARM64 branch/call/jump filter of the .xz format (filter id 0x0A, xz >= 5.4): BL and ADRP
// immediates turned from PC-relative into absolute values before compression, and back after.
// Pure and in place; written from the xz file format's description of the filter.

/** Opcode of BL (bits 31..26 = 100101). */
const BL_OPCODE = 0x25;
/** ADRP: bit 31 set, bits 28..24 = 10000 (mask and value over those bits). */
const ADRP_MASK = 0x9f000000;
const ADRP_VALUE = 0x90000000;

/**
 * Applies the ARM64 filter's encoder to `data` in place: every 4-byte little-endian word at an
 * offset `i` that is a multiple of 4 (a trailing 1-3 bytes stay as they are) whose position is
 * `pc = startOffset + i` (mod 2^32) is converted: a BL gets imm26 + pc/4 (mod 2^26); an ADRP whose
 * 21-bit page offset is within +-2^17 pages gets it replaced by (offset + pc/4096) mod 2^18,
 * sign-extended from bit 17 into bits 18-20. Returns `data`.
 */
export function arm64BcjEncode(data: Uint8Array, startOffset = 0): Uint8Array {
  return convert(data, startOffset, true);
}

/** Inverts arm64BcjEncode (same `startOffset`) in place: subtracts pc where it added it. Returns `data`. */
export function arm64BcjDecode(data: Uint8Array, startOffset = 0): Uint8Array {
  return convert(data, startOffset, false);
}

/** Whether this host stores a Uint32Array little-endian (every platform Node ships for today). */
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The 4-byte words of `data` as little-endian u32s: a Uint32Array over it when aligned, else a DataView. */
export function littleEndianWords(data: Uint8Array): { get(w: number): number; set(w: number, value: number): void } {
  if (LITTLE_ENDIAN_HOST && data.byteOffset % 4 === 0) {
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    return { get: (w) => words[w]!, set: (w, value) => (words[w] = value) };
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { get: (w) => view.getUint32(w * 4, true), set: (w, value) => view.setUint32(w * 4, value, true) };
}

/** True for a BL instruction word (bits 31..26 = 100101): its imm26 is the call's word offset. */
export function isBl(word: number): boolean {
  return word >>> 26 === BL_OPCODE;
}

/**
 * The 21-bit page offset of an ADRP word (immhi, bits 23..5, and immlo, bits 30..29) when the
 * filter converts it (bits 20..17 all equal: within +-512 MiB); -1 for any other word.
 */
export function convertibleAdrpPages(word: number): number {
  if ((word & ADRP_MASK) >>> 0 !== ADRP_VALUE) return -1;
  const pages = ((word >>> 29) & 3) | ((word >>> 3) & 0x001ffffc);
  return ((pages + 0x00020000) & 0x001c0000) === 0 ? pages : -1;
}

function convert(data: Uint8Array, startOffset: number, encoding: boolean): Uint8Array {
  const view = littleEndianWords(data);
  const wordCount = data.length >>> 2;
  for (let w = 0; w < wordCount; w++) {
    const word = view.get(w);
    const pc = (startOffset + w * 4) >>> 0;
    if (isBl(word)) {
      const delta = encoding ? pc >>> 2 : -(pc >>> 2);
      view.set(w, (0x94000000 | ((word + delta) & 0x03ffffff)) >>> 0);
      continue;
    }
    const pages = convertibleAdrpPages(word);
    if (pages < 0) continue;
    const delta = encoding ? pc >>> 12 : -(pc >>> 12);
    const moved = (pages + delta) >>> 0;
    const signBits = -(moved & 0x00020000) & 0x00e00000;
    view.set(w, ((word & 0x9000001f) | ((moved & 3) << 29) | ((moved & 0x0003fffc) << 3) | signBits) >>> 0);
  }
  return data;
}
