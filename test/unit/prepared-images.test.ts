// PreparedImages: the plan joins found runs only when asked, and compare's replace-only view
// re-plans the same digests without joins (a REPLACE would store joined blocks as data).

import { describe, expect, it } from 'vitest';
import { MemoryBlockSource } from '../../src/image/memory-block-source.js';
import { PreparedImages } from '../../src/pipeline/prepared-images.js';
import { CollectingReporter } from '../../src/reporter.js';

const BS = 4096;
const image = (blocks: number[]) => Buffer.concat(blocks.map((n) => Buffer.alloc(BS, `block-${n}-`)));
const kinds = (p: PreparedImages) => p.items.map((i) => [i.kind, i.dst.blockCount]);

describe('PreparedImages', () => {
  const old = Array.from({ length: 40 }, (_, k) => 10 + k);
  const next = [1000, 10, 11, 12, 1001];
  const prepare = (joinFoundRuns: boolean) =>
    PreparedImages.fromSources(new MemoryBlockSource(image(next)), new MemoryBlockSource(image(old)), {
      blockSizeBytes: BS,
      maxRunBytes: 1024 * 1024,
      joinFoundRuns,
      reporter: new CollectingReporter(),
      timed: (_phase, f) => f(),
    });

  it('joins found runs into the changed chunk only with joinFoundRuns', async () => {
    expect(kinds(await prepare(true))).toEqual([['changed', 5]]);
    expect(kinds(await prepare(false))).toEqual([
      ['changed', 1],
      ['copy', 3],
      ['changed', 1],
    ]);
  });

  it('replanned(false) re-plans the same images without joins, keeping the old image', async () => {
    const joined = await prepare(true);
    const plain = joined.replanned(false);
    expect(kinds(plain)).toEqual([
      ['changed', 1],
      ['copy', 3],
      ['changed', 1],
    ]);
    expect(plain.old).toBe(joined.old);
    expect(plain.oldDigests).toBe(joined.oldDigests);
    expect(kinds(joined)).toEqual([['changed', 5]]);
    expect(kinds(joined.replanned(true))).toEqual([['changed', 5]]);
  });
});
