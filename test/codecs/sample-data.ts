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
