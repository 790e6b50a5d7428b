// Small synthetic old/new image pairs (a few hundred KiB) that exercise every op type: unchanged
// blocks (COPY), edited and shifted regions (DIFF), fresh random data (REPLACE) and zero runs (ZERO).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRng } from './seeded-random.js';

const WORDS = [
  'kernel',
  'vendor',
  'system',
  'boot',
  'partition',
  'update',
  'verity',
  'selinux',
  'init',
  'bin',
  'lib64',
  'apex',
];

/** An old/new pair and where they were written. */
export interface ImagePair {
  readonly oldImage: Buffer;
  readonly newImage: Buffer;
  readonly oldPath: string;
  readonly newPath: string;
}

/** Deterministic old image: random, text-like and zero 4 KiB blocks. */
export function makeOldImage(seed: number, sizeBytes: number): Buffer {
  const rng = seededRng(seed);
  const img = Buffer.alloc(sizeBytes);
  for (let at = 0; at < sizeBytes; at += 4096) {
    const end = Math.min(sizeBytes, at + 4096);
    const kind = rng.int(0, 9);
    if (kind < 4) {
      rng.bytes(end - at).copy(img, at);
    } else if (kind < 9) {
      let text = '';
      while (text.length < end - at)
        text += `${WORDS[rng.int(0, WORDS.length - 1)]}${rng.int(0, 3) === 0 ? '\n' : ' '}`;
      img.write(text.slice(0, end - at), at, 'latin1');
    } // else: a zero block
  }
  return img;
}

/** A new image derived from `old` with edits, a shifted region, fresh data, a zero run and a move. */
export function makeNewImage(old: Buffer, seed: number): Buffer {
  const rng = seededRng(seed ^ 0x5eed);
  const img = Buffer.from(old);
  const size = img.length;
  const q = Math.floor(size / 8);
  // Scattered small edits.
  for (let i = 0; i < 12; i++) {
    const at = rng.int(0, q - 1);
    img[at] = img[at]! ^ rng.int(1, 255);
  }
  // A region shifted by 777 bytes (an insertion), not block aligned.
  old.copy(img, q + 777, q, 2 * q - 777);
  rng.bytes(777).copy(img, q);
  // Fresh random data.
  rng.bytes(Math.min(24 * 1024, q)).copy(img, 3 * q);
  // A zero run.
  img.fill(0, 4 * q, 4 * q + Math.min(40 * 1024, q));
  // A block-aligned move from near the end to the middle.
  const blocks = Math.floor(q / 4096) * 4096;
  old.copy(img, 5 * q - ((5 * q) % 4096), 7 * q - ((7 * q) % 4096), 7 * q - ((7 * q) % 4096) + blocks);
  return img;
}

/** Writes a deterministic pair to `dir` as old.img and new.img. */
export function writeImagePair(dir: string, seed: number, sizeBytes = 512 * 1024): ImagePair {
  const oldImage = makeOldImage(seed, sizeBytes);
  const newImage = makeNewImage(oldImage, seed);
  const oldPath = join(dir, 'old.img');
  const newPath = join(dir, 'new.img');
  writeFileSync(oldPath, oldImage);
  writeFileSync(newPath, newImage);
  return { oldImage, newImage, oldPath, newPath };
}

/** `ota-build build` arguments for a delta of `pair` into `out`, then `extra`. */
export function deltaBuildArgs(pair: ImagePair, out: string, ...extra: string[]): string[] {
  return ['build', '--old', pair.oldPath, '--new', pair.newPath, '-o', out, ...extra];
}
