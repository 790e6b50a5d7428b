// Unit and property tests of planner/gather-twins.ts: repeated changed content joins the chunk of
// its first copy (as extra destination runs), the rest stays where it was, every block is still
// written exactly once, and no op grows past the op size.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashBlocks, type BlockDigests } from '../../src/hashing/block-digests.js';
import { MemoryBlockSource } from '../../src/image/memory-block-source.js';
import { gatherTwins, MAX_CARRIED_BLOCKS, MIN_TWIN_BLOCKS } from '../../src/planner/gather-twins.js';
import type { ChangedItem, PlanItem } from '../../src/planner/plan-items.js';
import type { Extent } from '../../src/model/extent.js';

const BS = 512;
/** Block contents by number (null = a zero block). */
async function digestsOf(blocks: (number | null)[]): Promise<BlockDigests> {
  const data = Buffer.concat(blocks.map((n) => (n === null ? Buffer.alloc(BS) : Buffer.alloc(BS, `b${n}.`))));
  return hashBlocks(new MemoryBlockSource(data), BS);
}
const SOURCES: Extent[] = [{ startBlock: 0, blockCount: 4 }];
const changed = (startBlock: number, blockCount: number, sources = SOURCES): ChangedItem => ({
  kind: 'changed',
  dst: { startBlock, blockCount },
  sources,
});
const range = (from: number, count: number) => Array.from({ length: count }, (_, k) => from + k);
const extentsOf = (item: PlanItem): Extent[] =>
  item.kind === 'changed' ? [item.dst, ...(item.extraDst ?? [])] : [item.dst];
/** Every block an item list writes, in the order the ops write them. */
const written = (items: readonly PlanItem[]) =>
  items.flatMap((i) => extentsOf(i).flatMap((e) => range(e.startBlock, e.blockCount)));

describe('gatherTwins', () => {
  it('moves a later copy of a chunk into that chunk, after its own blocks', async () => {
    // Blocks 0-19 unique content, 20-29 a copy of 0-9 (a file shipped twice).
    const next = await digestsOf([...range(100, 20), ...range(100, 10)]);
    const items = gatherTwins([changed(0, 20), changed(20, 10, [{ startBlock: 9, blockCount: 1 }])], next, 64);
    expect(items).toEqual([{ ...changed(0, 20), extraDst: [{ startBlock: 20, blockCount: 10 }] }]);
  });

  it('leaves the unrepeated rest of a chunk in place, as one chunk with its own sources', async () => {
    const other: Extent[] = [{ startBlock: 2, blockCount: 3 }];
    // Chunk 2: 40 new blocks, a 10-block copy of chunk 1, 40 more new blocks.
    const next = await digestsOf([...range(100, 10), ...range(500, 40), ...range(100, 10), ...range(600, 40)]);
    const items = gatherTwins([changed(0, 10), changed(10, 90, other)], next, 100);
    expect(items).toEqual([
      { ...changed(0, 10), extraDst: [{ startBlock: 50, blockCount: 10 }] },
      { ...changed(10, 40, other), extraDst: [{ startBlock: 60, blockCount: 40 }] },
    ]);
  });

  it('carries a few unrepeated blocks with the copy next to them, not a tiny op of their own', async () => {
    const gap = Math.min(3, MAX_CARRIED_BLOCKS);
    const next = await digestsOf([...range(100, 20), ...range(100, 10), ...range(700, gap), ...range(110, 10)]);
    const items = gatherTwins([changed(0, 20), changed(20, 20 + gap)], next, 64);
    expect(items).toEqual([{ ...changed(0, 20), extraDst: [{ startBlock: 20, blockCount: 20 + gap }] }]);
  });

  it('keeps short repeats, zero blocks and copies that would overfill the op where they are', async () => {
    const short = MIN_TWIN_BLOCKS - 1;
    const next = await digestsOf([...range(100, 20), ...range(100, short), null, null, ...range(800, 40)]);
    const plan = [changed(0, 20), changed(20, short + 42)];
    expect(gatherTwins(plan, next, 64)).toEqual(plan);
    const full = await digestsOf([...range(100, 20), ...range(100, 20)]);
    const tight = [changed(0, 20), changed(20, 20)];
    // (31: a quarter-op piece would be shorter than MIN_TWIN_BLOCKS, so the chunk is not cut first)
    expect(gatherTwins(tight, full, 31)).toEqual(tight);
    expect(gatherTwins(tight, full, 40)).toEqual([
      { ...changed(0, 20), extraDst: [{ startBlock: 20, blockCount: 20 }] },
    ]);
  });

  it('follows content to the chunk that codes it now (a copy of a copy)', async () => {
    const next = await digestsOf([...range(100, 10), ...range(200, 10), ...range(100, 10), ...range(100, 10)]);
    const items = gatherTwins([changed(0, 10), changed(10, 10), changed(20, 10), changed(30, 10)], next, 64);
    expect(items).toEqual([{ ...changed(0, 10), extraDst: [{ startBlock: 20, blockCount: 20 }] }, changed(10, 10)]);
  });

  it('fills the op of the first copy, then the op of the first copy that did not fit', async () => {
    const next = await digestsOf([...range(100, 10), ...range(100, 10), ...range(100, 10), ...range(100, 10)]);
    const items = gatherTwins([changed(0, 10), changed(10, 10), changed(20, 10), changed(30, 10)], next, 20);
    expect(items).toEqual([
      { ...changed(0, 10), extraDst: [{ startBlock: 10, blockCount: 10 }] },
      { ...changed(20, 10), extraDst: [{ startBlock: 30, blockCount: 10 }] },
    ]);
  });

  it('leaves the remaining chunks as they are once it added its most extents', async () => {
    // Each later chunk: a 10-block copy of chunk 0, then 40 new blocks (two extents once split).
    const blocks = [...range(100, 10)];
    for (let c = 0; c < 4; c++) blocks.push(...range(100, 10), ...range(1000 + 100 * c, 40));
    const next = await digestsOf(blocks);
    const plan = [changed(0, 10), ...[0, 1, 2, 3].map((c) => changed(10 + 50 * c, 50))];
    const items = gatherTwins(plan, next, 1000, 2);
    // Two chunks were split (one extent added each), the other two stay whole.
    expect(items.slice(-2)).toEqual(plan.slice(-2));
    expect(items[0]).toEqual({
      ...changed(0, 10),
      extraDst: [
        { startBlock: 10, blockCount: 10 },
        { startBlock: 60, blockCount: 10 },
      ],
    });
  });

  it('first cuts a chunk too large to take its copies into quarter-op pieces, unless it holds whole runs', async () => {
    // A 32-block chunk, then three copies of it; ops of 64 blocks: only one copy fits the chunk.
    const next = await digestsOf([...range(100, 32), ...range(100, 32), ...range(100, 32), ...range(100, 32)]);
    const plan = [changed(0, 32), changed(32, 32), changed(64, 32), changed(96, 32)];
    expect(gatherTwins(plan, next, 64)).toEqual([
      {
        ...changed(0, 16),
        extraDst: [
          { startBlock: 32, blockCount: 16 },
          { startBlock: 64, blockCount: 16 },
          { startBlock: 96, blockCount: 16 },
        ],
      },
      {
        ...changed(16, 16),
        extraDst: [
          { startBlock: 48, blockCount: 16 },
          { startBlock: 80, blockCount: 16 },
          { startBlock: 112, blockCount: 16 },
        ],
      },
    ]);
    // A chunk planned around a zip member is never cut: one copy joins it, later ones pair up.
    const whole = [{ ...changed(0, 32), holdsWholeRuns: true }, ...plan.slice(1)];
    expect(gatherTwins(whole, next, 64)).toEqual([
      { ...changed(0, 32), extraDst: [{ startBlock: 32, blockCount: 32 }] },
      { ...changed(64, 16), extraDst: [{ startBlock: 96, blockCount: 16 }] },
      { ...changed(80, 16), extraDst: [{ startBlock: 112, blockCount: 16 }] },
    ]);
  });

  it('writes every block once, in ops within the op size, other items untouched (property)', async () => {
    let gathered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 8, max: 32 }),
        fc.integer({ min: 16, max: 64 }),
        async (pieces, chunk, maxRun) => {
          // Pieces of 8 blocks drawn from 6 contents (so they repeat) or zero; changed runs cut
          // into chunks of `chunk` blocks, zero pieces as zero items.
          const blocks = pieces.flatMap((p) => (p === null ? Array<null>(8).fill(null) : range(p * 8, 8)));
          const next = await digestsOf(blocks);
          const plan: PlanItem[] = [];
          for (let at = 0; at < blocks.length;) {
            let end = at;
            const zero = blocks[at] === null;
            while (
              end < blocks.length &&
              (blocks[end] === null) === zero &&
              end - at < (zero ? 8 : Math.min(chunk, maxRun))
            )
              end++;
            plan.push(zero ? { kind: 'zero', dst: { startBlock: at, blockCount: end - at } } : changed(at, end - at));
            at = end;
          }
          const out = gatherTwins(plan, next, maxRun);
          expect(written(out).sort((a, b) => a - b)).toEqual(written(plan).sort((a, b) => a - b));
          for (const item of out.filter((i) => i.kind === 'changed'))
            expect(extentsOf(item).reduce((t, e) => t + e.blockCount, 0)).toBeLessThanOrEqual(maxRun);
          expect(out.filter((i) => i.kind !== 'changed')).toEqual(plan.filter((i) => i.kind !== 'changed'));
          // Chunks stay in destination order by their first run; the result is a function of the input.
          const firsts = out.filter((i) => i.kind === 'changed').map((i) => i.dst.startBlock);
          expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
          expect(gatherTwins(plan, next, maxRun)).toEqual(out);
          if (out.some((i) => i.kind === 'changed' && i.extraDst)) gathered++;
        },
      ),
      { numRuns: 150, seed: 20261205 },
    );
    // The cases did exercise the gathering, not only plans without repeats.
    expect(gathered).toBeGreaterThan(20);
  });
});
