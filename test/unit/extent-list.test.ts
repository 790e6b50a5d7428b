// Property tests of the pure extent algebra against a per-block model.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extentsOfFlags, mergeExtents, withoutFlagged } from '../../src/extents/extent-list.js';

const extentArb = fc.record({ startBlock: fc.nat(200), blockCount: fc.integer({ min: 1, max: 40 }) });
const covered = (extents: readonly { startBlock: number; blockCount: number }[]) => {
  const set = new Set<number>();
  for (const e of extents) for (let i = 0; i < e.blockCount; i++) set.add(e.startBlock + i);
  return [...set].sort((a, b) => a - b);
};

describe('extent list', () => {
  it('mergeExtents covers the same blocks with sorted, disjoint, non-touching extents', () => {
    fc.assert(
      fc.property(fc.array(extentArb), (extents) => {
        const merged = mergeExtents(extents);
        expect(covered(merged)).toEqual(covered(extents));
        for (let i = 1; i < merged.length; i++)
          expect(merged[i]!.startBlock).toBeGreaterThan(merged[i - 1]!.startBlock + merged[i - 1]!.blockCount);
      }),
      { seed: 11 },
    );
  });

  it('extentsOfFlags and withoutFlagged agree with the per-block model', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 260, max: 1 }), fc.array(extentArb), (flags, extents) => {
        const flagged = covered(extentsOfFlags(flags));
        expect(flagged).toEqual([...flags.keys()].filter((i) => flags[i]));
        const kept = covered(withoutFlagged(extents, flags));
        expect(kept).toEqual(covered(extents).filter((b) => !flags[b]));
      }),
      { seed: 12 },
    );
  });
});
