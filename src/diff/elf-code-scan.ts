// Which code architecture a chunk holds, for the exec-aware differ: ELF64 little-endian headers
// at 4 KiB-aligned offsets (files start on ext4 blocks) whose machine is AArch64 or x86-64 and
// which have an executable PT_LOAD segment, read defensively (any inconsistency: not an ELF);
// failing that, the density of near branches (most chunks of a library hold no header). Pure.

import type { ReferenceArchName } from './reference-adjust.js';

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const PT_LOAD = 1;
const PF_X = 1;
const ELF64_HEADER_BYTES = 64;
const PHDR_BYTES = 56;
const MAX_PHDRS = 256;
/** Where ELF headers are looked for: ext4 file data starts on a block. */
const HEADER_ALIGN_BYTES = 4096;
/**
 * Near branches per 4 KiB of nonzero data that mark code. Measured per 256 KiB: AArch64 code of
 * Debian's libc/libcrypto 11-99 BLs, x86-64 code of lzma-native's addon 14-103 E8/E9s, random
 * bytes ≤ 2.2; some data (libcrypto's tables) reaches 17 x86 "branches": a wasted trial, no harm.
 */
const MIN_BRANCHES_PER_4K = 12;
/** Least nonzero data the density test needs. */
const MIN_SCORED_BYTES = 64 * 1024;

/** The architecture of a well-formed ELF64 LE executable header at `at`, or undefined. */
export function elfCodeArchAt(data: Uint8Array, at: number): ReferenceArchName | undefined {
  if (at < 0 || at + ELF64_HEADER_BYTES > data.length) return undefined;
  if (data[at] !== 0x7f || data[at + 1] !== 0x45 || data[at + 2] !== 0x4c || data[at + 3] !== 0x46) return undefined;
  // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
  if (data[at + 4] !== 2 || data[at + 5] !== 1 || data[at + 6] !== 1) return undefined;
  const view = new DataView(data.buffer, data.byteOffset + at, data.length - at);
  const machine = view.getUint16(18, true);
  const arch = machine === EM_AARCH64 ? 'aarch64' : machine === EM_X86_64 ? 'x86-64' : undefined;
  if (arch === undefined || view.getUint32(20, true) !== 1) return undefined;
  const phoff = view.getBigUint64(32, true);
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  if (phentsize !== PHDR_BYTES || phnum === 0 || phnum > MAX_PHDRS) return undefined;
  if (phoff < BigInt(ELF64_HEADER_BYTES) || phoff + BigInt(phnum * PHDR_BYTES) > BigInt(data.length - at))
    return undefined;
  let executable = false;
  for (let k = 0; k < phnum; k++) {
    const p = Number(phoff) + k * PHDR_BYTES;
    if (view.getUint32(p, true) !== PT_LOAD) continue;
    const offset = view.getBigUint64(p + 8, true);
    const fileBytes = view.getBigUint64(p + 32, true);
    const memBytes = view.getBigUint64(p + 40, true);
    if (fileBytes > memBytes || offset + fileBytes > 2n ** 48n) return undefined;
    if ((view.getUint32(p + 4, true) & PF_X) !== 0 && fileBytes > 0n) executable = true;
  }
  return executable ? arch : undefined;
}

/** Near-branch counts of `data`: AArch64 BLs and x86 E8/E9 rel32s within ±16 MiB, and nonzero 4 KiB blocks. */
function branchDensity(data: Uint8Array): { aarch64: number; x86: number; blocks: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let aarch64 = 0;
  let x86 = 0;
  let nonzeroWords = 0;
  for (let i = 0; i + 4 <= data.length; i += 4) {
    const word = view.getUint32(i, true);
    if (word === 0) continue;
    nonzeroWords++;
    // BL with |imm26| < 2^21 words (8 MiB): the bits above 20 all equal.
    if (word >>> 26 === 0x25 && (((word & 0x03ffffff) + 0x00200000) & 0x03c00000) === 0) aarch64++;
  }
  for (let i = 0; i + 5 <= data.length; i++) {
    const op = data[i];
    if (op !== 0xe8 && op !== 0xe9) continue;
    if (((view.getUint32(i + 1, true) + 0x01000000) & 0xfe000000) === 0) x86++;
  }
  return { aarch64, x86, blocks: (nonzeroWords * 4) / 4096 };
}

/**
 * The code architecture of a chunk: that of the first executable ELF header in `target`, then
 * `source`; else the one whose near branches are dense enough in the target (MIN_BRANCHES_PER_4K);
 * else undefined (the exec-aware differ does not apply). Cheap: one pass over the target.
 */
export function chunkCodeArch(source: Uint8Array, target: Uint8Array): ReferenceArchName | undefined {
  for (const data of [target, source]) {
    for (let at = 0; at + ELF64_HEADER_BYTES <= data.length; at += HEADER_ALIGN_BYTES) {
      const arch = elfCodeArchAt(data, at);
      if (arch !== undefined) return arch;
    }
  }
  const d = branchDensity(target);
  if (d.blocks * 4096 < MIN_SCORED_BYTES) return undefined;
  const best = d.aarch64 >= d.x86 ? 'aarch64' : 'x86-64';
  return Math.max(d.aarch64, d.x86) >= MIN_BRANCHES_PER_4K * d.blocks ? best : undefined;
}
