// readExtents (src/image/extent-io.ts): the blocks of the extents, concatenated, in a buffer of
// their exact size that owns its memory, which the encode pool moves to a worker without a copy.

import { describe, expect, it } from 'vitest';
import { readExtents } from '../../src/image/extent-io.js';
import { MemoryBlockSource } from '../../src/image/memory-block-source.js';
import { wholeBuffersOf } from '../../src/pipeline/hash-image-file.js';
import { seededRng } from '../helpers/seeded-random.js';

const BLOCK = 4096;

describe('readExtents', () => {
  it('reads the extents in order into a buffer of exactly their size, movable to a worker', async () => {
    const data = seededRng(3).bytes(10 * BLOCK);
    const extents = [
      { startBlock: 7, blockCount: 2 },
      { startBlock: 1, blockCount: 1 },
    ];
    const got = await readExtents(new MemoryBlockSource(data), extents, BLOCK);
    expect(got).toEqual(Buffer.concat([data.subarray(7 * BLOCK, 9 * BLOCK), data.subarray(BLOCK, 2 * BLOCK)]));
    expect(got.buffer.byteLength).toBe(3 * BLOCK);
    expect(wholeBuffersOf([got])).toEqual([got.buffer]);
  });
});
