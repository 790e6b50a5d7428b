// SourceIndex (src/diff/bsdiff-matcher.ts) leaves out source windows whose hash bucket no target
// window falls in: every chain a target lookup walks must still be the full chain of its bucket.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SourceIndex } from '../../src/diff/bsdiff-matcher.js';

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Every source window in the bucket of target[at..at+8), most recent first, as the unfiltered index keeps them. */
function fullChain(index: SourceIndex, source: Uint8Array, target: Uint8Array, at: number): number[] {
  const bucket = index.bucketOf(view(target), at);
  const out: number[] = [];
  for (let i = source.length - 8; i >= 0; i--) {
    const inRun = i > 0 && source.subarray(i - 1, i + 8).every((b) => b === source[i]);
    if (!inRun && index.bucketOf(view(source), i) === bucket) out.push(i);
  }
  return out;
}

function walk(index: SourceIndex, target: Uint8Array, at: number): number[] {
  const out: number[] = [];
  for (let p = index.first(view(target), at); p >= 0; p = index.next(p)) out.push(p);
  return out;
}

// Few distinct bytes and short lengths: repeated windows, runs and shared buckets.
const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max, max: 3 });
/** A source, and a target made of a slice of it between random bytes (windows both share). */
const pair = fc.tuple(bytes(300), bytes(40), bytes(40), fc.nat(), fc.nat()).map(([source, before, after, a, b]) => {
  const from = source.length === 0 ? 0 : a % source.length;
  const slice = source.subarray(from, from + (b % 160));
  return [source, Uint8Array.from([...before, ...slice, ...after])] as const;
});

describe('SourceIndex', () => {
  it('walks, for every target window, the whole chain of its bucket', () => {
    fc.assert(
      fc.property(pair, ([source, target]) => {
        const index = new SourceIndex(source, target);
        for (let at = 0; at + 8 <= target.length; at++)
          expect(walk(index, target, at)).toEqual(fullChain(index, source, target, at));
      }),
      { numRuns: 200, seed: 20261205 },
    );
  });

  it('an index made on the arrays another released (larger, smaller or the same size) walks the same whole chains', () => {
    fc.assert(
      fc.property(fc.array(pair, { minLength: 2, maxLength: 5 }), (pairs) => {
        for (const [source, target] of pairs) {
          const index = new SourceIndex(source, target);
          for (let at = 0; at + 8 <= target.length; at++)
            expect(walk(index, target, at)).toEqual(fullChain(index, source, target, at));
          index.release(); // the next index takes these arrays, stale links and heads included
        }
      }),
      { numRuns: 100, seed: 20261206 },
    );
  });

  it('walks whole chains over a source of several insert batches (1024 windows each)', () => {
    // Four distinct bytes, so buckets repeat across batch boundaries; a run crosses one too.
    const source = Uint8Array.from({ length: 5000 }, (_, i) => (i >= 2040 && i < 2060 ? 7 : (i * 2654435761) >>> 30));
    const target = Uint8Array.from([
      ...source.subarray(1000, 1100),
      ...source.subarray(2030, 2070),
      ...source.subarray(4900),
    ]);
    const index = new SourceIndex(source, target);
    for (let at = 0; at + 8 <= target.length; at++)
      expect(walk(index, target, at)).toEqual(fullChain(index, source, target, at));
    expect(walk(index, target, 0)).toContain(1000);
  });

  it('an index on the front of larger arrays, then on arrays grown from smaller ones, walks whole chains', () => {
    const bytes = (length: number, seed: number) =>
      Uint8Array.from({ length }, (_, i) => (((i + seed) * 2654435761) >>> 30) ^ (i % 7 === 0 ? 1 : 0));
    for (const length of [5000, 300, 5000, 70_000, 300]) {
      const source = bytes(length, length);
      const target = Uint8Array.from([...source.subarray(length >> 2, (length >> 2) + 120), ...bytes(60, 1)]);
      const index = new SourceIndex(source, target);
      for (let at = 0; at + 8 <= target.length; at++)
        expect(walk(index, target, at), `source of ${length} bytes, window ${at}`).toEqual(
          fullChain(index, source, target, at),
        );
      index.release();
    }
  });

  it('finds a window the target shares with the source, and none for a target it does not', () => {
    const source = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff);
    const target = source.slice(1000, 1100);
    const index = new SourceIndex(source, target);
    expect(walk(index, target, 0)).toContain(1000);
    const other = new SourceIndex(source, new Uint8Array(64).fill(0xaa));
    expect(walk(other, target, 0)).toEqual([]);
  });
});
