// blockMapOf: every target block classified once (unchanged vs moved copies, diffed, replaced,
// zero, DONT_CARE), downsampled to at most the cell limit with exact per-cell counts.

import { describe, expect, it } from 'vitest';
import { BLOCK_KINDS, blockMapOf, copyRuns, MAX_BLOCK_MAP_CELLS } from '../../src/inspect/block-map.js';
import type { PartitionUpdate } from '../../src/model/manifest.js';
import type { Operation } from '../../src/model/operation.js';

const blob = { offsetBytes: 0, sizeBytes: 1, sha256: new Uint8Array(32) };
const sha = new Uint8Array(32);
const ext = (startBlock: number, blockCount: number) => ({ startBlock, blockCount });

function partition(
  blocks: number,
  operations: Operation[],
  dontCare = [] as { startBlock: number; blockCount: number }[],
): PartitionUpdate {
  return {
    name: 'system',
    source: undefined,
    target: { sizeBytes: blocks * 4096, sha256: sha, version: '', dontCare },
    operations,
  };
}

describe('copyRuns', () => {
  it('pairs dst and src extents block by block, splitting where either list breaks', () => {
    expect(copyRuns([ext(0, 4), ext(10, 2)], [ext(20, 1), ext(5, 5)])).toEqual([
      { dstStart: 0, srcStart: 20, count: 1 },
      { dstStart: 1, srcStart: 5, count: 3 },
      { dstStart: 10, srcStart: 8, count: 2 },
    ]);
  });
});

describe('blockMapOf', () => {
  const ops: Operation[] = [
    { type: 'copy', dst: [ext(0, 4)], src: [ext(0, 2), ext(7, 2)], srcSha256: sha }, // 2 unchanged, 2 moved
    { type: 'zero', dst: [ext(4, 2)] },
    { type: 'diff', dst: [ext(6, 3)], src: [ext(6, 3)], srcSha256: sha, differ: 'bsdiff', blob, decoderMemoryBytes: 1 },
    { type: 'replace', dst: [ext(9, 1)], codec: 'xz', blob, decoderMemoryBytes: 1 },
  ];

  it('maps a partition listed without ops (unchanged in a release package) as unchanged, DONT_CARE kept', () => {
    const target = { sizeBytes: 6 * 4096, sha256: sha, version: '', dontCare: [ext(2, 1)] };
    const map = blockMapOf({ name: 'lk', source: target, target, operations: [] }, 4096);
    expect(map.cells.map((c) => c.kind)).toEqual([
      'unchanged',
      'unchanged',
      'dontCare',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    expect(map.totals.unchanged).toBe(5);
  });

  it('one cell per block when the image is small', () => {
    const map = blockMapOf(partition(12, ops, [ext(10, 2)]), 4096);
    expect(map.blocksPerCell).toBe(1);
    expect(map.cells.map((c) => c.kind)).toEqual([
      'unchanged',
      'unchanged',
      'copied',
      'copied',
      'zero',
      'zero',
      'diffed',
      'diffed',
      'diffed',
      'replaced',
      'dontCare',
      'dontCare',
    ]);
    expect(map.totals).toEqual({ unchanged: 2, copied: 2, diffed: 3, replaced: 1, zero: 2, dontCare: 2 });
  });

  it('downsamples into cells with exact counts; the majority kind wins, ties favour changes', () => {
    const map = blockMapOf(partition(12, ops, [ext(10, 2)]), 4096, 3);
    expect(map.blocksPerCell).toBe(4);
    expect(map.cells.map((c) => [c.startBlock, c.blockCount, c.kind])).toEqual([
      [0, 4, 'copied'],
      [4, 4, 'diffed'],
      [8, 4, 'dontCare'],
    ]);
    expect(map.cells[0]!.counts).toMatchObject({ unchanged: 2, copied: 2 }); // tie: the change (moved) wins
    expect(map.cells[2]!.counts).toMatchObject({ diffed: 1, replaced: 1, dontCare: 2 });
  });

  it('never exceeds the cell limit and counts every block of a large image once', () => {
    const blocks = 1_000_003;
    const map = blockMapOf(
      partition(blocks, [
        { type: 'zero', dst: [ext(0, 500_000)] },
        { type: 'replace', dst: [ext(500_000, blocks - 500_000)], codec: 'zstd', blob, decoderMemoryBytes: 1 },
      ]),
      4096,
    );
    expect(map.cells.length).toBeLessThanOrEqual(MAX_BLOCK_MAP_CELLS);
    const sum = map.cells.reduce((s, c) => s + BLOCK_KINDS.reduce((t, k) => t + c.counts[k], 0), 0);
    expect(sum).toBe(blocks);
    expect(map.cells.reduce((s, c) => s + c.blockCount, 0)).toBe(blocks);
    expect(map.totals.zero + map.totals.replaced).toBe(blocks);
  });
});
