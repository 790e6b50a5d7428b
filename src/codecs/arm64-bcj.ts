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

function convert(data: Uint8Array, startOffset: number, encoding: boolean): Uint8Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const end = data.length & ~3;
  for (let i = 0; i < end; i += 4) {
    const word = view.getUint32(i, true);
    const pc = (startOffset + i) >>> 0;
    if (word >>> 26 === BL_OPCODE) {
      const delta = encoding ? pc >>> 2 : -(pc >>> 2);
      view.setUint32(i, (0x94000000 | ((word + delta) & 0x03ffffff)) >>> 0, true);
    } else if ((word & ADRP_MASK) >>> 0 === ADRP_VALUE) {
      // immhi (bits 23..5) and immlo (bits 30..29) as one 21-bit page offset.
      const pages = ((word >>> 29) & 3) | ((word >>> 3) & 0x001ffffc);
      // Only offsets whose bits 20..17 are all equal (within +-512 MiB) are converted.
      if (((pages + 0x00020000) & 0x001c0000) !== 0) continue;
      const delta = encoding ? pc >>> 12 : -(pc >>> 12);
      const moved = (pages + delta) >>> 0;
      const signBits = -(moved & 0x00020000) & 0x00e00000;
      view.setUint32(
        i,
        ((word & 0x9000001f) | ((moved & 3) << 29) | ((moved & 0x0003fffc) << 3) | signBits) >>> 0,
        true,
      );
    }
  }
  return data;
}
