// The image sha256 has one definition: sha256 of the exact sizeBytes bytes with zeroed (DONT_CARE)
// extents as zeros. Checked against node:crypto over a zeroed copy, fed in random chunk sizes, and
// against hashBlocks (build) over the same image.

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashBlocks } from '../../src/hashing/block-digests.js';
import { ImageSha256, imageSha256 } from '../../src/hashing/image-sha256.js';
import { MemoryBlockSource } from '../../src/image/memory-block-source.js';
import type { Extent } from '../../src/model/extent.js';
import { seededRng } from '../helpers/seeded-random.js';

const BLOCK = 16;

/** sha256 of `data` with the blocks of `zeroed` set to zero (on a copy). */
function expected(data: Buffer, zeroed: readonly Extent[]): Buffer {
  const copy = Buffer.from(data);
  for (const e of zeroed)
    copy.fill(0, e.startBlock * BLOCK, Math.min(copy.length, (e.startBlock + e.blockCount) * BLOCK));
  return createHash('sha256').update(copy).digest();
}

/** Disjoint extents inside `blockCount` blocks, from `picks` (start, count) pairs, in shuffled order. */
function disjoint(blockCount: number, picks: [number, number][]): Extent[] {
  const taken = new Uint8Array(blockCount);
  const out: Extent[] = [];
  for (const [s, c] of picks) {
    const startBlock = s % Math.max(1, blockCount);
    const blockCount_ = Math.min(1 + (c % 4), blockCount - startBlock);
    if (blockCount_ <= 0 || taken.subarray(startBlock, startBlock + blockCount_).some((t) => t)) continue;
    taken.fill(1, startBlock, startBlock + blockCount_);
    out.push({ startBlock, blockCount: blockCount_ });
  }
  return out.reverse();
}

describe('ImageSha256', () => {
  it('equals sha256 of the zeroed bytes, whatever the chunk sizes, without changing the input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 10 }),
        fc.nat(),
        (sizeBytes, picks, chunks, seed) => {
          const data = seededRng(seed).bytes(sizeBytes);
          const before = Buffer.from(data);
          const zeroed = disjoint(Math.ceil(sizeBytes / BLOCK), picks);
          const hash = new ImageSha256(sizeBytes, BLOCK, zeroed);
          for (let at = 0, k = 0; at < sizeBytes; k++) {
            const n = chunks[k % chunks.length]!;
            hash.update(data.subarray(at, at + n));
            at += n;
          }
          hash.update(Buffer.alloc(BLOCK)); // bytes past sizeBytes are ignored
          expect(hash.digest()).toEqual(expected(data, zeroed));
          expect(data).toEqual(before);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a digest before every byte was fed, and a block size that is not positive', () => {
    expect(() => new ImageSha256(10, BLOCK).update(Buffer.alloc(9)).digest()).toThrow('fed 9 of the image');
    expect(() => new ImageSha256(10, 0)).toThrow('block size must be a positive integer');
  });
});

describe('imageSha256', () => {
  it('is what the build records (hashBlocks) and what apply checks', async () => {
    const data = seededRng(11).bytes(4096 * 5 + 123);
    data.fill(0, 4096, 8192);
    const source = new MemoryBlockSource(data);
    const built = await hashBlocks(source, 4096);
    expect(await imageSha256(source, 4096)).toEqual(built.imageSha256);
    expect(built.imageSha256).toEqual(createHash('sha256').update(data).digest());
    const zeroed = [{ startBlock: 2, blockCount: 2 }];
    expect(await imageSha256(source, 4096, zeroed)).toEqual(
      createHash('sha256')
        .update(Buffer.from(data).fill(0, 8192, 16384))
        .digest(),
    );
  });
});
