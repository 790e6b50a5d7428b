// Unit tests of the pure planner: zero runs, copies found anywhere (incl. moved data), changed
// chunks capped in size, diff windows that follow shifted data.

import { describe, expect, it } from 'vitest';
import { hashBlocks } from '../../src/hashing/block-digests.js';
import { DigestIndex } from '../../src/hashing/digest-index.js';
import { MemoryBlockSource } from '../../src/image/memory-block-source.js';
import {
  changedRunsLongerThan,
  diffSources,
  MAX_JOINED_DELTAS,
  MAX_MIXED_GAP_BLOCKS,
  planBlocks,
} from '../../src/planner/plan-blocks.js';
import type { PlanItem } from '../../src/planner/plan-items.js';

const BS = 4096;
function image(blocks: (number | null)[]): Buffer {
  // Each entry is a block whose content is derived from the number (null = zero block).
  return Buffer.concat(blocks.map((n) => (n === null ? Buffer.alloc(BS) : Buffer.alloc(BS, `block-${n}-`))));
}
async function plan(
  oldBlocks: (number | null)[] | undefined,
  newBlocks: (number | null)[],
  maxRunBlocks = 100,
  chunkBlocks = 3,
  joinFoundRuns = true,
) {
  const next = await hashBlocks(new MemoryBlockSource(image(newBlocks)), BS);
  const old = oldBlocks ? await hashBlocks(new MemoryBlockSource(image(oldBlocks)), BS) : undefined;
  return planBlocks(next, old ? { digests: old, index: new DigestIndex(old) } : undefined, {
    maxRunBlocks,
    chunkBlocks,
    maxSourceBlocks: 4 * chunkBlocks,
    joinFoundRuns,
  });
}

describe('planBlocks', () => {
  it('classifies zero, same-offset copy, moved copy and changed blocks', async () => {
    const items = await plan([1, 2, 3, 4, 5, 6], [null, null, 2, 3, 9, 1]);
    expect(items).toEqual([
      { kind: 'zero', dst: { startBlock: 0, blockCount: 2 } },
      { kind: 'copy', dst: { startBlock: 2, blockCount: 2 }, src: { startBlock: 1, blockCount: 2 } },
      { kind: 'changed', dst: { startBlock: 4, blockCount: 1 }, sources: expect.any(Array) },
      { kind: 'copy', dst: { startBlock: 5, blockCount: 1 }, src: { startBlock: 0, blockCount: 1 } },
    ]);
  });
  it('covers every destination block exactly once, in order', async () => {
    const items = await plan([1, 2, 3, null, 4], [7, 7, 7, 7, 7, 7, 7, 1, 2, null, null, 8]);
    let next = 0;
    for (const it of items) {
      expect(it.dst.startBlock).toBe(next);
      next += it.dst.blockCount;
      if (it.kind === 'changed') expect(it.dst.blockCount).toBeLessThanOrEqual(3);
    }
    expect(next).toBe(12);
  });
  it('caps runs at maxRunBlocks', async () => {
    const items = await plan([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 2);
    expect(items.map((i) => i.dst.blockCount)).toEqual([2, 2, 1]);
  });
  it('a full plan (no old image) has only zero and changed items', async () => {
    const items = await plan(undefined, [1, null, 2, 3]);
    expect(items.map((i) => i.kind)).toEqual(['changed', 'zero', 'changed']);
    expect(items.every((i) => i.kind !== 'changed' || i.sources.length === 0)).toBe(true);
  });
  it('a run of found blocks at one displacement between changed blocks joins the chunk; a zero block, a mixed run or the chunk cap does not', async () => {
    const gap = (n: number, from = 10) => Array.from({ length: n }, (_, k) => from + k);
    const old = [...gap(200)];
    // changed, 3 found, changed: one chunk of 5 blocks (no COPY op and second DIFF op).
    expect((await plan(old, [1000, ...gap(3), 1001], 100, 64)).map((i) => [i.kind, i.dst.blockCount])).toEqual([
      ['changed', 5],
    ]);
    // Runs up to the chunk join too: the found blocks cost the differ next to nothing.
    expect((await plan(old, [1000, ...gap(60), 1001], 100, 64)).map((i) => [i.kind, i.dst.blockCount])).toEqual([
      ['changed', 62],
    ]);
    // A zero block in the gap, or a chunk cap the join would pass, stops the join.
    expect((await plan(old, [1000, 10, null, 11, 1001], 100, 64)).map((i) => i.kind)).toEqual([
      'changed',
      'copy',
      'zero',
      'copy',
      'changed',
    ]);
    expect((await plan(old, [1000, ...gap(3), 1001], 100, 4)).map((i) => i.kind)).toEqual([
      'changed',
      'copy',
      'changed',
    ]);
    // A gap at mixed displacements joins only up to MAX_MIXED_GAP_BLOCKS; a longer one stays copies.
    expect((await plan(old, [1000, 10, 11, 30, 31, 1001], 100, 64)).map((i) => [i.kind, i.dst.blockCount])).toEqual([
      ['changed', 6],
    ]);
    const mixed = [...gap(MAX_MIXED_GAP_BLOCKS / 2 + 1), ...gap(MAX_MIXED_GAP_BLOCKS / 2 + 1, 100)];
    expect((await plan(old, [1000, ...mixed, 1001], 100, 64)).map((i) => i.kind)).toEqual([
      'changed',
      'copy',
      'copy',
      'changed',
    ]);
    // Without joinFoundRuns (some target cannot DIFF) nothing joins: the blocks stay COPY ops.
    expect((await plan(old, [1000, ...gap(3), 1001], 100, 64, false)).map((i) => i.kind)).toEqual([
      'changed',
      'copy',
      'changed',
    ]);
    expect((await plan(old, [1000, 10, 11, 30, 31, 1001], 100, 64, false)).map((i) => i.kind)).toEqual([
      'changed',
      'copy',
      'copy',
      'changed',
    ]);
  });
  it('a chunk joins runs at no more than MAX_JOINED_DELTAS displacements, and diffs against each of them', async () => {
    const old = Array.from({ length: 200 }, (_, k) => 10 + k);
    // Three gaps found at three displacements (-1, +107, +155); the third is too long to join
    // without its own window.
    const third = Array.from({ length: MAX_MIXED_GAP_BLOCKS + 4 }, (_, k) => 170 + k);
    const items = await plan(old, [1000, 10, 1001, 120, 1002, ...third, 1003], 100, 64);
    expect(MAX_JOINED_DELTAS).toBe(2);
    expect(items.map((i) => [i.kind, i.dst.blockCount])).toEqual([
      ['changed', 5],
      ['copy', third.length],
      ['changed', 1],
    ]);
    const first = items[0]!;
    if (first.kind !== 'changed') throw new Error('expected a changed chunk');
    // Old block 110 (new block 3's content) is in one of the chunk's source windows.
    expect(first.sources.some((w) => w.startBlock <= 110 && w.startBlock + w.blockCount > 110)).toBe(true);
    // A third run at a displacement already joined still joins.
    expect(
      (await plan(old, [1000, 10, 1001, 120, 1002, 14, 1003], 100, 64)).map((i) => [i.kind, i.dst.blockCount]),
    ).toEqual([['changed', 7]]);
  });
  it("the joined runs' displacements come first among a chunk's sources, before the last copy's", async () => {
    const old = Array.from({ length: 200 }, (_, k) => 10 + k);
    // A copy shifted by +50 (new 0..2 = old 50..52), then a chunk joining runs at -4 and +104.
    const items = await plan(old, [60, 61, 62, 1000, 10, 1001, 120, 1002], 100, 64);
    expect(items.map((i) => [i.kind, i.dst.blockCount])).toEqual([
      ['copy', 3],
      ['changed', 5],
    ]);
    const chunk = items[1]!;
    if (chunk.kind !== 'changed') throw new Error('expected a changed chunk');
    for (const oldBlock of [0, 110])
      expect(chunk.sources.some((w) => w.startBlock <= oldBlock && w.startBlock + w.blockCount > oldBlock)).toBe(true);
  });
  it('diff windows follow the last copy run when data shifted, and stay inside the old image', () => {
    const windows = diffSources({ startBlock: 100, blockCount: 10 }, [500, 0], 1000, 400);
    expect(windows.some((w) => w.startBlock <= 600 && w.startBlock + w.blockCount >= 610)).toBe(true);
    expect(windows.some((w) => w.startBlock <= 100 && w.startBlock + w.blockCount >= 110)).toBe(true);
    for (const w of diffSources({ startBlock: 990, blockCount: 10 }, [0], 995, 400))
      expect(w.startBlock + w.blockCount).toBeLessThanOrEqual(995);
    expect(diffSources({ startBlock: 10, blockCount: 5 }, [0], 0, 400)).toEqual([]);
  });
  it('diff windows of candidates that land close together still read the whole budget around them', () => {
    const total = (ws: { blockCount: number }[]) => ws.reduce((t, w) => t + w.blockCount, 0);
    // Three displacements a few blocks apart: one region, grown to the budget on both sides.
    const near = diffSources({ startBlock: 3000, blockCount: 512 }, [0, 3, -5], 65_536, 1024);
    expect(near).toHaveLength(1);
    expect(total(near)).toBeGreaterThanOrEqual(1020);
    expect(total(near)).toBeLessThanOrEqual(1024);
    expect(near[0]!.startBlock).toBeLessThan(3000 - 200);
    expect(near[0]!.startBlock + near[0]!.blockCount).toBeGreaterThan(3512 + 200);
    // Far apart: each keeps at least the chunk, and together they stay within the budget.
    const far = diffSources({ startBlock: 3000, blockCount: 100 }, [0, 20_000], 65_536, 1024);
    expect(far).toHaveLength(2);
    expect(total(far)).toBeLessThanOrEqual(1024);
    expect(total(far)).toBeGreaterThanOrEqual(600);
    // A small chunk reads a few times itself per candidate, not the whole budget.
    expect(total(diffSources({ startBlock: 3000, blockCount: 10 }, [0], 65_536, 1024))).toBeLessThanOrEqual(64);
    // Near the image's edges the windows stay inside it.
    for (const w of diffSources({ startBlock: 0, blockCount: 512 }, [0], 700, 1024)) {
      expect(w.startBlock).toBeGreaterThanOrEqual(0);
      expect(w.startBlock + w.blockCount).toBeLessThanOrEqual(700);
    }
  });
});

/** Plans `newBlocks` against `oldBlocks` (block ids) with `keepWhole` runs, chunks of 3 unless `limits` says. */
async function planWhole(
  oldBlocks: number[],
  newBlocks: number[],
  keepWhole: [number, number][],
  maxRun = 8,
  limits: { chunkBlocks?: number; wholeChunkBlocks?: number } = {},
) {
  const next = await hashBlocks(new MemoryBlockSource(image(newBlocks)), BS);
  const old = await hashBlocks(new MemoryBlockSource(image(oldBlocks)), BS);
  const chunkBlocks = limits.chunkBlocks ?? 3;
  return planBlocks(
    next,
    { digests: old, index: new DigestIndex(old) },
    {
      maxRunBlocks: maxRun,
      chunkBlocks,
      maxSourceBlocks: 4 * chunkBlocks,
      joinFoundRuns: true,
      keepWhole: keepWhole.map(([startBlock, blockCount]) => ({ startBlock, blockCount })),
      ...(limits.wholeChunkBlocks === undefined ? {} : { wholeChunkBlocks: limits.wholeChunkBlocks }),
    },
  );
}

describe('planBlocks with runs to keep whole (zip members for the deflate-aware differ)', () => {
  const old = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

  it('plans a run with one changed block changed as a whole (its found head too), in one chunk past the chunk size', async () => {
    // Blocks 2..7 are one member; only its block 6 changed.
    const items = await planWhole(old, [1, 2, 3, 4, 5, 6, 99, 8, 9, 10, 11, 12], [[2, 6]]);
    expect(items.map((i) => [i.kind, i.dst.startBlock, i.dst.blockCount])).toEqual([
      ['copy', 0, 2],
      ['changed', 2, 6],
      ['copy', 8, 4],
    ]);
  });

  it('leaves unchanged runs, and runs longer than maxRun, to the usual plan', async () => {
    const items = await planWhole(
      old,
      [1, 2, 3, 4, 5, 6, 99, 8, 9, 10, 11, 12],
      [
        [0, 3],
        [4, 6],
      ],
      4,
    );
    // (copy runs are capped at maxRun too)
    expect(items.map((i) => [i.kind, i.dst.startBlock, i.dst.blockCount])).toEqual([
      ['copy', 0, 4],
      ['copy', 4, 2],
      ['changed', 6, 1],
      ['copy', 7, 4],
      ['copy', 11, 1],
    ]);
  });

  it('counts the changed runs a plan cuts: longer than maxRun, with a changed block (changedRunsLongerThan)', async () => {
    // Runs: 0..2 unchanged and long, 3..8 changed (block 6) and long, 9..11 changed (block 10) and short.
    const newBlocks = [1, 2, 3, 4, 5, 6, 99, 8, 9, 10, 98, 12];
    const next = await hashBlocks(new MemoryBlockSource(image(newBlocks)), BS);
    const oldDigests = await hashBlocks(new MemoryBlockSource(image(old)), BS);
    const view = { digests: oldDigests, index: new DigestIndex(oldDigests) };
    const runs = [
      { startBlock: 0, blockCount: 3 },
      { startBlock: 3, blockCount: 6 },
      { startBlock: 9, blockCount: 3 },
    ];
    expect(changedRunsLongerThan(next, view, runs, 2)).toEqual({ count: 2, blockCount: 9, shortestBlockCount: 3 });
    expect(changedRunsLongerThan(next, view, runs, 3)).toEqual({ count: 1, blockCount: 6, shortestBlockCount: 6 });
    expect(changedRunsLongerThan(next, view, runs, 6)).toEqual({ count: 0, blockCount: 0, shortestBlockCount: 0 });
    // The plan with maxRun 3 indeed cuts the 6-block run: no item holds it whole.
    const items = await planWhole(old, newBlocks, [[3, 6]], 3);
    expect(items.some((i) => i.dst.startBlock <= 3 && i.dst.startBlock + i.dst.blockCount >= 9)).toBe(false);
  });

  it('stops a chunk before a changed run it cannot hold, so the run starts the next chunk', async () => {
    // Everything changed; members at 2..6 (5 blocks) and 7..10. Chunks of 3, at most 5 blocks.
    const items = await planWhole(
      old,
      [91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102],
      [
        [2, 5],
        [7, 4],
      ],
      5,
    );
    expect(items.map((i) => [i.dst.startBlock, i.dst.blockCount])).toEqual([
      [0, 2],
      [2, 5],
      [7, 4],
      [11, 1],
    ]);
  });
});

describe('planBlocks with a smaller chunk for runs kept whole (DifferTraits.wholeChunkBytes)', () => {
  const many = Array.from({ length: 40 }, (_, i) => i + 1);
  const changed = many.map((b) => b + 100);

  it('cuts chunks that hold a changed kept run to wholeChunkBlocks, marks the one holding it, and leaves the others at chunkBlocks', async () => {
    // Everything changed; one 2-block member at 22..23. Chunks of 8, 2 where a member is.
    const dsts = (items: PlanItem[]) => items.map((i) => [i.dst.startBlock, i.dst.blockCount]);
    const items = await planWholeMany([[22, 2]], { chunkBlocks: 8, wholeChunkBlocks: 2 });
    expect(dsts(items)).toEqual([
      [0, 8],
      [8, 8],
      [16, 2],
      [18, 2],
      [20, 2],
      [22, 2],
      [24, 8],
      [32, 8],
    ]);
    // Only the chunk holding the member is marked (gather-twins never cuts it).
    expect(items.map((i) => i.kind === 'changed' && i.holdsWholeRuns === true)).toEqual([
      false,
      false,
      false,
      false,
      false,
      true,
      false,
      false,
    ]);
    // Without the cap: the same member in a chunk of 8.
    expect(dsts(await planWholeMany([[22, 2]], { chunkBlocks: 8 }))).toEqual([
      [0, 8],
      [8, 8],
      [16, 8],
      [24, 8],
      [32, 8],
    ]);
  });

  function planWholeMany(keep: [number, number][], limits: { chunkBlocks: number; wholeChunkBlocks?: number }) {
    return planWhole(many, changed, keep, 8, limits);
  }
});

describe('target profiles', () => {
  it('must allow zero, copy and replace (only diff is optional)', async () => {
    const { parseTargetProfile } = await import('../../src/targets/parse-target-profile.js');
    const { readFileSync } = await import('node:fs');
    const base = JSON.parse(readFileSync(new URL('../../profiles/generic.json', import.meta.url), 'utf8'));
    expect(
      parseTargetProfile({ ...base, allowedOperations: ['zero', 'copy', 'replace'] }, 'x.json').allowedOperations,
    ).toEqual(['zero', 'copy', 'replace']);
    for (const missing of ['zero', 'copy', 'replace']) {
      const ops = ['zero', 'copy', 'replace', 'diff'].filter((o) => o !== missing);
      expect(() => parseTargetProfile({ ...base, allowedOperations: ops }, 'x.json')).toThrow(
        new RegExp(`must include ${missing}`),
      );
    }
  });
});
