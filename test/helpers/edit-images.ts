// Deterministic synthetic images and edits for round-trip tests: realistic-ish content
// (text-like, binary-like, zero runs) and the edits real updates make (insert, delete, move, fill).

import { prng } from './seeded-random.js';

/** The tests' one seeded PRNG (uniform floats in [0, 1)), re-exported for existing importers. */
export { prng };

/** An image of `sizeBytes` mixing compressible text, random bytes and zero runs. */
export function syntheticImage(sizeBytes: number, seed: number): Buffer {
  const rand = prng(seed);
  const out = Buffer.alloc(sizeBytes);
  const words = [
    'system',
    'vendor',
    'lib64',
    'framework',
    'android',
    'update',
    'binder',
    'kernel',
    '\n',
    '{',
    '}',
    '0x1f',
  ];
  let at = 0;
  while (at < sizeBytes) {
    const kind = rand();
    const len = Math.min(sizeBytes - at, 512 + Math.floor(rand() * 16384));
    if (kind < 0.45) {
      let s = '';
      while (s.length < len) s += `${words[Math.floor(rand() * words.length)]} `;
      out.write(s.slice(0, len), at, 'latin1');
    } else if (kind < 0.8) {
      for (let i = 0; i < len; i++) out[at + i] = Math.floor(rand() * 256);
    }
    at += len;
  }
  return out;
}

/** One edit applied to an image. */
export type Edit =
  | { kind: 'insert'; at: number; length: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'move'; from: number; to: number; length: number }
  | { kind: 'zero'; at: number; length: number }
  | { kind: 'fill'; at: number; length: number; byte: number }
  | { kind: 'random'; at: number; length: number };

/** Applies edits; the result keeps the original size (inserts push data off the end, deletes pad with zeros) unless `keepSize` is false. */
export function applyEdits(image: Buffer, edits: readonly Edit[], seed: number, keepSize = true): Buffer {
  const rand = prng(seed);
  let img = Buffer.from(image);
  for (const e of edits) {
    const at = Math.min(e.kind === 'move' ? e.from : e.at, img.length);
    const length = Math.min(e.length, img.length - at);
    switch (e.kind) {
      case 'insert': {
        const ins = Buffer.alloc(e.length);
        for (let i = 0; i < ins.length; i++) ins[i] = Math.floor(rand() * 256);
        img = Buffer.concat([img.subarray(0, at), ins, img.subarray(at)]);
        break;
      }
      case 'delete':
        img = Buffer.concat([img.subarray(0, at), img.subarray(at + length)]);
        break;
      case 'move': {
        const piece = Buffer.from(img.subarray(at, at + length));
        const rest = Buffer.concat([img.subarray(0, at), img.subarray(at + length)]);
        const to = Math.min(e.to, rest.length);
        img = Buffer.concat([rest.subarray(0, to), piece, rest.subarray(to)]);
        break;
      }
      case 'zero':
        img.fill(0, at, at + length);
        break;
      case 'fill':
        img.fill(e.byte, at, at + length);
        break;
      case 'random':
        for (let i = at; i < at + length; i++) img[i] = Math.floor(rand() * 256);
        break;
    }
  }
  if (!keepSize) return img;
  const out = Buffer.alloc(image.length);
  img.copy(out, 0, 0, Math.min(img.length, out.length));
  return out;
}
