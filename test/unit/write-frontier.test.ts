// The frontier of a fresh raw output (write-frontier.ts): after each completed write it must stand
// exactly at the first planned extent still unwritten (never past one, or the hash would read
// bytes still to come), move only forward, reach the end when final, and stop for a write behind
// it or one the ops do not plan.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WriteFrontier } from '../../src/apply/write-frontier.js';
import type { Extent } from '../../src/model/extent.js';
import { ext, partitionOf as partOf, replaceOp as replace, zeroOp as zero } from '../helpers/plan-ops.js';

const BS = 512;
/**
 * Advances `f` from `fromBytes`; returns where it stands, in bytes. Each step's claim that the
 * file holds zeros there is checked against `writtenBlocks` (1 per block written) when given.
 */
function advanced(f: WriteFrontier, fromBytes: number, final = false, writtenBlocks?: Uint8Array): number {
  let at = fromBytes;
  f.advance((endBytes, zeros) => {
    expect(endBytes).toBeGreaterThan(at);
    if (writtenBlocks) {
      const blocks = writtenBlocks.subarray(Math.floor(at / BS), Math.ceil(endBytes / BS));
      expect(blocks.every((b) => b === (zeros ? 0 : 1))).toBe(true);
    }
    at = endBytes;
  }, final);
  return at;
}

describe('WriteFrontier', () => {
  it('waits at a gap an op has still to write, then passes what was written ahead', () => {
    const f = new WriteFrontier(
      partOf(64 * BS, [replace(ext(0, 8), ext(40, 8)), replace(ext(8, 8)), zero(ext(16, 24))]),
      BS,
    );
    f.note([ext(0, 8), ext(40, 8)]);
    expect(advanced(f, 0)).toBe(8 * BS);
    f.note([ext(8, 8)]);
    expect(advanced(f, 8 * BS)).toBe(64 * BS); // the ZERO op's blocks are the file's zeros; 40..48 was written
    expect(f.running).toBe(true);
  });

  it('stops for a write behind it, and for one that is no planned extent', () => {
    const part = partOf(32 * BS, [replace(ext(0, 16)), replace(ext(16, 16))]);
    const behind = new WriteFrontier(part, BS);
    behind.note([ext(0, 16)]);
    advanced(behind, 0);
    behind.note([ext(0, 16)]);
    expect(behind.running).toBe(false);
    const unplanned = new WriteFrontier(part, BS);
    unplanned.note([ext(20, 4)]);
    expect(unplanned.running).toBe(false);
  });

  it('a package with overlapping extents has no plan: any write stops it', () => {
    const f = new WriteFrontier(partOf(32 * BS, [replace(ext(0, 16)), replace(ext(8, 8))]), BS);
    f.note([ext(0, 16)]);
    expect(f.running).toBe(false);
  });

  it('random covers, ops in random order: always at the first unwritten planned block, zeros only where nothing was written', () => {
    const cover = fc
      .array(fc.record({ blocks: fc.integer({ min: 1, max: 6 }), data: fc.boolean() }), { minLength: 1, maxLength: 30 })
      .chain((runs) =>
        fc.record({
          runs: fc.constant(runs),
          groups: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: runs.length, maxLength: runs.length }),
          order: fc.shuffledSubarray([...Array(8).keys()], { minLength: 8, maxLength: 8 }),
          tailBytes: fc.integer({ min: 0, max: BS - 1 }),
        }),
      );
    fc.assert(
      fc.property(cover, ({ runs, groups, order, tailBytes }) => {
        const byGroup: Extent[][] = [...Array(8)].map(() => []);
        let at = 0;
        runs.forEach((r, i) => {
          if (r.data) byGroup[groups[i]!]!.push(ext(at, r.blocks));
          at += r.blocks;
        });
        const sizeBytes = at * BS - tailBytes;
        const ops = byGroup.filter((g) => g.length > 0).map((g) => replace(...g));
        const f = new WriteFrontier(partOf(sizeBytes, ops), BS);
        const unwritten = ops.flatMap((op) => op.dst);
        const writtenBlocks = new Uint8Array(at);
        let frontier = 0;
        for (const i of order.filter((k) => k < ops.length)) {
          f.note(ops[i]!.dst);
          for (const e of ops[i]!.dst) {
            unwritten.splice(unwritten.indexOf(e), 1);
            writtenBlocks.fill(1, e.startBlock, e.startBlock + e.blockCount);
          }
          frontier = advanced(f, frontier, false, writtenBlocks);
          const firstUnwritten = Math.min(at, ...unwritten.map((e) => e.startBlock));
          expect(frontier).toBe(Math.min(firstUnwritten * BS, sizeBytes));
        }
        expect(f.running).toBe(true);
        expect(advanced(f, frontier, true, writtenBlocks)).toBe(sizeBytes);
      }),
      { numRuns: 300 },
    );
  });
});
