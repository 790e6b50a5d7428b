// Heavy block movement for in-place tests: runs of 4 KiB blocks rotated and swapped (cycles in the
// read-after-write graph), then a few edited bytes, from a seed.

import { seededRng } from './seeded-random.js';

const BS = 4096;

/** Moves, swaps and rotates 4 KiB-aligned runs of `old`, then edits a few blocks: heavy movement with cycles. */
export function shuffledBlocks(old: Buffer, seed: number): Buffer {
  const r = seededRng(seed);
  const n = old.length / BS;
  const blocks = Array.from({ length: n }, (_, i) => old.subarray(i * BS, (i + 1) * BS));
  for (let k = 0; k < 6; k++) {
    const len = r.int(4, Math.floor(n / 4));
    const a = r.int(0, n - len);
    const b = r.int(0, n - len);
    const run = blocks.slice(a, a + len);
    if (k % 3 === 0)
      blocks.splice(a, len, ...run.slice(1), run[0]!); // rotate by one
    else for (let i = 0; i < len; i++) [blocks[a + i], blocks[b + i]] = [blocks[b + i]!, blocks[a + i]!];
  }
  const out = Buffer.concat(blocks);
  for (let k = 0; k < 8; k++) out.fill(r.int(1, 255), r.int(0, n - 1) * BS + 100, r.int(0, n - 1) * BS + 300);
  return out;
}
