// Deterministic test inputs shared by the codec and differ suites: a zero block, seeded random
// bytes, text-like data, a slice of a real ELF binary, and a seeded "new version" of a buffer.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { prng } from '../helpers/seeded-random.js';

/** One 4096-byte block of zeros. */
export function zeroBlock(): Buffer {
  return Buffer.alloc(4096);
}

/** The tests' one seeded PRNG (test/helpers/seeded-random.ts), so failures reproduce from the printed seed. */
export { prng };

/** `sizeBytes` seeded random (incompressible) bytes. */
export function randomBytes(sizeBytes: number, seed = 1): Buffer {
  const next = prng(seed);
  const out = Buffer.allocUnsafe(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) out[i] = Math.floor(next() * 256);
  return out;
}

const WORDS = 'the quick brown fox jumps over lazy dog firmware partition block vendor boot system kernel'.split(' ');

/** `sizeBytes` of seeded pseudo-English text (compressible). */
export function textLike(sizeBytes: number, seed = 2): Buffer {
  const next = prng(seed);
  const parts: string[] = [];
  let length = 0;
  while (length < sizeBytes) {
    const word = WORDS[Math.floor(next() * WORDS.length)] ?? 'x';
    const sep = next() < 0.1 ? '.\n' : ' ';
    parts.push(word + sep);
    length += word.length + sep.length;
  }
  return Buffer.from(parts.join('')).subarray(0, sizeBytes);
}

/** `sizeBytes` of a real ELF binary (the running node), from `offsetBytes`. */
export function elfChunk(sizeBytes: number, offsetBytes = 8 << 20): Buffer {
  const fd = openSync(process.execPath, 'r');
  try {
    const start = Math.min(offsetBytes, Math.max(0, fstatSync(fd).size - sizeBytes));
    const out = Buffer.alloc(sizeBytes);
    const readBytes = readSync(fd, out, 0, sizeBytes, start);
    return out.subarray(0, readBytes);
  } finally {
    closeSync(fd);
  }
}

/** A "v2" of `v1`: `changedBytes` seeded byte changes plus one insertion of `insertBytes`. */
export function editedCopy(v1: Uint8Array, seed = 3, changedBytes = 2000, insertBytes = 100): Buffer {
  const next = prng(seed);
  const copy = Buffer.from(v1);
  for (let i = 0; i < changedBytes && copy.length > 0; i++)
    copy[Math.floor(next() * copy.length)] = Math.floor(next() * 256);
  const at = Math.floor(copy.length * 0.3);
  const inserted = randomBytes(insertBytes, seed + 1);
  return Buffer.concat([copy.subarray(0, at), inserted, copy.subarray(at)]);
}

/** Flips bit `bit` of a copy of `bytes`. */
export function flipBit(bytes: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  const index = Math.floor(bit / 8);
  copy[index] = (copy[index] ?? 0) ^ (1 << (bit % 8));
  return copy;
}

/**
 * `sizeBytes` of seeded AArch64-like code: little-endian 4-byte words from a small instruction
 * vocabulary, with BL calls to 300 function entry points and ADRP references to 40 pages (so
 * their PC-relative immediates vary while their targets repeat, as in real code).
 */
export function aarch64Like(sizeBytes: number, seed = 5): Buffer {
  const next = prng(seed);
  const words = Math.floor(sizeBytes / 4);
  const functions = Array.from({ length: 300 }, () => Math.floor(next() * words));
  const pages = Array.from({ length: 40 }, () => Math.floor((next() * sizeBytes) / 4096));
  const vocabulary = Array.from({ length: 1500 }, () => (0xa9000000 + Math.floor(next() * 0x06ffffff)) >>> 0);
  const out = Buffer.alloc(words * 4);
  for (let w = 0; w < words; w++) {
    const roll = next();
    let word: number;
    if (roll < 0.06) {
      const target = functions[Math.floor(next() * functions.length)]!;
      word = (0x94000000 | ((target - w) & 0x03ffffff)) >>> 0;
    } else if (roll < 0.09) {
      const page = (pages[Math.floor(next() * pages.length)]! - Math.floor((w * 4) / 4096)) & 0x1fffff;
      word = (0x90000000 | ((page & 3) << 29) | ((page >>> 2) << 5) | Math.floor(next() * 31)) >>> 0;
    } else {
      word = vocabulary[Math.floor(next() * next() * vocabulary.length)]!;
    }
    out.writeUInt32LE(word, w * 4);
  }
  return out;
}

/**
 * x86-64-like code: `count` units, about a third of them `call rel32` to one of 48 functions that
 * lie before the buffer (outside any source), the rest one-byte filler that starts no reference.
 * The new version inserts `insertBytes` NOPs at unit `insertAt` and has the functions moved by
 * `functionShift`.
 */
export function x86CallCode(seed: number, count: number, insertAt = -1, insertBytes = 0, functionShift = 0): Buffer {
  const next = prng(seed);
  const filler = [0x90, 0x50, 0x53, 0x55, 0x58, 0x5b, 0x5d, 0xc3];
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    if (k === insertAt) for (let i = 0; i < insertBytes; i++) out.push(0x90);
    if (next() < 0.3) {
      const target = -65_536 - 256 * Math.floor(next() * 48) + functionShift;
      const rel = target - (out.length + 5);
      out.push(0xe8, rel & 0xff, (rel >>> 8) & 0xff, (rel >>> 16) & 0xff, (rel >>> 24) & 0xff);
    } else out.push(filler[Math.floor(next() * filler.length)]!);
  }
  return Buffer.from(out);
}
