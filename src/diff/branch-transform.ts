// The exec-aware differ's position-based branch transforms (FORMAT.md §4), BCJ-style: relative
// branch targets become absolute ones (or back), so a call whose callee did not move reads the
// same wherever the caller moved to. Exactly invertible for any bytes: the decision to convert a
// spot depends only on bits the conversion keeps. Pure; works in place on a buffer.

/** Code architectures the transform knows (the patch's arch byte). */
export const BranchArch = { aarch64: 1, 'x86-64': 2 } as const;
/** An arch name. */
export type BranchArchName = keyof typeof BranchArch;

const IMM26_MASK = 0x03ffffff;

/**
 * AArch64, on each 4-byte word at even-of-4 offset `i` (little-endian, from the buffer's start):
 * BL (top 6 bits 100101) gets imm26 := imm26 ± i/4 (mod 2^26); ADRP (word & 0x9F000000 =
 * 0x90000000) whose 21-bit immediate lies in -2^17..2^17-1 gets it := (imm ± floor(i/4096)) mod
 * 2^18, sign-extended from bit 17 (xz's ARM64 BCJ filter). `encode` adds, decode subtracts.
 */
export function transformAarch64(data: Uint8Array, encode: boolean): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i + 4 <= data.length; i += 4) {
    const word = view.getUint32(i, true);
    if (word >>> 26 === 0x25) {
      const delta = encode ? i >>> 2 : -(i >>> 2);
      view.setUint32(i, ((word & ~IMM26_MASK) | ((word + delta) & IMM26_MASK)) >>> 0, true);
    } else if ((word & 0x9f000000) >>> 0 === 0x90000000) {
      const imm = ((word >>> 29) & 3) | ((word >>> 3) & 0x001ffffc);
      if (((imm + 0x00020000) & 0x001c0000) !== 0) continue;
      const page = Math.floor(i / 4096);
      const dest = (imm + (encode ? page : -page)) & 0x0003ffff;
      const out =
        (word & 0x9000001f) | ((dest & 3) << 29) | ((dest & 0x0003fffc) << 3) | (-(dest & 0x00020000) & 0x00e00000);
      view.setUint32(i, out >>> 0, true);
    }
  }
}

/**
 * x86-64, scanning from offset 0: a byte E8 (call rel32) or E9 (jmp rel32) at `i` with 4 bytes
 * after it is converted when no unconverted E8/E9 was seen at i-3..i-1 and its little-endian
 * rel32 lies in -2^24..2^24-1 (bits 25-31 equal bit 24: a test of byte i+4 alone): rel32 :=
 * (rel32 ± (i + 5)) mod 2^25, sign-extended from bit 24, and the scan goes on at i + 5; else at
 * i + 1. The first rule keeps a later conversion from changing the byte an earlier test read.
 */
export function transformX86(data: Uint8Array, encode: boolean): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let lastUnconverted = -4;
  let i = 0;
  while (i + 5 <= data.length) {
    const op = data[i];
    if (op === 0xe8 || op === 0xe9) {
      const rel = view.getUint32(i + 1, true);
      if (i - lastUnconverted > 3 && ((rel + 0x01000000) & 0xfe000000) === 0) {
        const pc = i + 5;
        const dest = (rel + (encode ? pc : -pc)) & 0x01ffffff;
        view.setUint32(i + 1, ((dest ^ 0x01000000) - 0x01000000) >>> 0, true);
        i += 5;
        continue;
      }
      lastUnconverted = i;
    }
    i += 1;
  }
}

/** Applies the transform of `arch` to `data` in place: `encode` before diffing, decode after patching. */
export function transformBranches(data: Uint8Array, arch: BranchArchName, encode: boolean): void {
  if (arch === 'aarch64') transformAarch64(data, encode);
  else transformX86(data, encode);
}
