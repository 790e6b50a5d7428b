// lowerBound / upperBound / partitionPoint against a linear scan, on random sorted arrays of
// numbers, typed arrays and bigints (with duplicates, and with a `length` shorter than the array).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lowerBound, partitionPoint, upperBound } from '../../src/extents/lower-bound.js';

const firstIndex = <K>(sorted: ArrayLike<K>, length: number, ok: (k: K) => boolean): number => {
  for (let i = 0; i < length; i++) if (ok(sorted[i]!)) return i;
  return length;
};

const sortedInts = fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 60 }).map((a) => a.sort((x, y) => x - y));

describe('lowerBound and upperBound', () => {
  it('match a linear scan over number arrays and Uint32Arrays, any length prefix', () => {
    fc.assert(
      fc.property(sortedInts, fc.integer({ min: -2, max: 42 }), fc.nat(), (sorted, value, cut) => {
        const length = cut % (sorted.length + 1);
        for (const keys of [sorted, Uint32Array.from(sorted)]) {
          expect(lowerBound(keys, value, length)).toBe(firstIndex(keys, length, (k) => k >= value));
          expect(upperBound(keys, value, length)).toBe(firstIndex(keys, length, (k) => k > value));
        }
        expect(lowerBound(sorted, value)).toBe(firstIndex(sorted, sorted.length, (k) => k >= value));
      }),
      { numRuns: 2000 },
    );
  });

  it('match a linear scan over BigUint64Arrays', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 40 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.nat({ max: 39 }),
        (values, probe, pick) => {
          const keys = BigUint64Array.from(values).sort();
          const value = values.length > 0 && pick % 2 === 0 ? keys[pick % keys.length]! : probe;
          expect(lowerBound(keys, value)).toBe(firstIndex(keys, keys.length, (k) => k >= value));
          expect(upperBound(keys, value)).toBe(firstIndex(keys, keys.length, (k) => k > value));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('handle an empty range', () => {
    expect(lowerBound([], 5)).toBe(0);
    expect(upperBound(new Uint32Array(8), 5, 0)).toBe(0);
  });
});

describe('partitionPoint', () => {
  it('finds where a prefix predicate turns false, as a linear scan does', () => {
    fc.assert(
      fc.property(sortedInts, fc.integer({ min: -2, max: 42 }), (sorted, value) => {
        const isBefore = (i: number): boolean => sorted[i]! * 2 < value;
        expect(partitionPoint(sorted.length, isBefore)).toBe(
          firstIndex(sorted, sorted.length, (k) => !(k * 2 < value)),
        );
      }),
      { numRuns: 1000 },
    );
  });
});
