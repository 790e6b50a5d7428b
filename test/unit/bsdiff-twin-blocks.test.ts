// twinBlocks (src/diff/bsdiff-matcher.ts) pairs each whole 4 KiB target block with an equal aligned
// source block, and the matcher finds those blocks through their twin instead of the source
// index: the blocks it returns must still rebuild the target, however the blocks were moved,
// repeated or edited.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchBsdiff, SourceIndex, twinBlocks } from '../../src/diff/bsdiff-matcher.js';
import { applyBsdiffStreams, readOfft } from '../../src/diff/bsdiff-patch.js';
import { mulberry32 } from '../../src/hashing/mulberry32.js';

const BLOCK = 4096;

/** `count` blocks of random bytes from `seed`. */
function blocks(count: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  return Uint8Array.from({ length: count * BLOCK }, () => next() & 0xff);
}

const block = (data: Uint8Array, index: number) => data.subarray(index * BLOCK, (index + 1) * BLOCK);

describe('twinBlocks', () => {
  it('finds moved and repeated blocks, prefers the block after the previous twin, and leaves edited ones out', () => {
    const source = blocks(6, 1);
    // Blocks 0 and 4 of the source are equal, so a target block like them has two twins.
    source.set(block(source, 0), 4 * BLOCK);
    const edited = block(source, 2).slice();
    edited[100]! ^= 1;
    const target = Uint8Array.from([
      ...block(source, 3), // moved
      ...block(source, 4), // after 3's twin: 4 continues the run, although 0 is equal and first
      ...block(source, 0), // equal to 0 and 4; the run goes on to 5 only if 5 is equal (it is not)
      ...edited, // one byte differs from every source block
      ...block(source, 1),
      ...block(source, 1), // repeated
      ...new Uint8Array(100), // a partial last block has no twin entry
    ]);
    expect([...twinBlocks(source, target)]).toEqual([3, 4, 0, -1, 1, 1].map((b) => (b < 0 ? -1 : b * BLOCK)));
  });

  it('pairs blocks of views that start inside a larger buffer, up to the last whole block of the source', () => {
    // Buffers from Node's pool start at an offset of their ArrayBuffer; the hash reads words there.
    const pool = new Uint8Array(7 + 3 * BLOCK + 5);
    const source = pool.subarray(7, 7 + 3 * BLOCK);
    source.set(blocks(2, 7));
    source.set(block(source, 0), 2 * BLOCK); // blocks 0 and 2 equal
    const target = Uint8Array.from([...block(source, 1), ...block(source, 2)]);
    // Block 2, the last whole block of the source, follows block 1's twin: taken before block 0.
    expect([...twinBlocks(source, target)]).toEqual([BLOCK, 2 * BLOCK]);
    // A source one byte short of block 2: the first equal block, 0.
    expect([...twinBlocks(source.subarray(0, 3 * BLOCK - 1), target)]).toEqual([BLOCK, 0]);
  });

  it('has an entry only for whole target blocks, and none when the source is shorter than a block', () => {
    expect(twinBlocks(blocks(2, 2), new Uint8Array(BLOCK - 1)).length).toBe(0);
    expect([...twinBlocks(new Uint8Array(BLOCK - 1), new Uint8Array(2 * BLOCK))]).toEqual([-1, -1]);
  });

  it('never pairs blocks that differ, and pairs every block some equal source block has', () => {
    // Few distinct blocks, some differing in one word only: hashes and comparisons both matter.
    const base = blocks(3, 3);
    const variant = (k: number) => {
      const out = block(base, k % 3).slice();
      if (k >= 3) out[(k * 97) % BLOCK]! ^= 0x80;
      return out;
    };
    fc.assert(
      fc.property(
        fc.array(fc.nat(5), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(5), { maxLength: 6 }),
        (sourceKinds, targetKinds) => {
          const source = Uint8Array.from(sourceKinds.flatMap((k) => [...variant(k)]));
          const target = Uint8Array.from(targetKinds.flatMap((k) => [...variant(k)]));
          const twins = twinBlocks(source, target);
          targetKinds.forEach((k, i) => {
            const twin = twins[i]!;
            const hasEqual = sourceKinds.includes(k);
            expect(twin >= 0).toBe(hasEqual);
            if (twin >= 0) {
              expect(twin % BLOCK).toBe(0);
              expect(Buffer.compare(source.subarray(twin, twin + BLOCK), block(target, i))).toBe(0);
            }
          });
        },
      ),
      { numRuns: 200, seed: 20261208 },
    );
  });
});

describe('matchBsdiff with twin blocks', () => {
  it('rebuilds targets made of moved, repeated and edited source blocks and new bytes (seeded)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.tuple(fc.nat(11), fc.nat(3), fc.nat(BLOCK - 1)), { maxLength: 14 }),
        fc.nat(),
        (sourceBlocks, picks, seed) => {
          const source = blocks(sourceBlocks, seed);
          const parts = picks.map(([b, how, at]) => {
            const copy = block(source, b % sourceBlocks).slice();
            if (how === 1) copy[at]! ^= 0xff; // edited
            if (how === 2) return blocks(1, seed + at); // new
            if (how === 3) return copy.subarray(at % 64); // a shifted piece: later blocks lose alignment
            return copy;
          });
          const target = Uint8Array.from(parts.flatMap((p) => [...p]));
          expect(Buffer.compare(applyBsdiffStreams(source, matchBsdiff(source, target), target.length), target)).toBe(
            0,
          );
        },
      ),
      { numRuns: 60, seed: 20261209 },
    );
  });

  it('covers a target of moved source blocks with one cover per run of consecutive blocks', () => {
    // The index leaves these blocks out (they all have twins): only their twins can find them.
    const source = blocks(16, 4);
    const target = Uint8Array.from([...source.subarray(8 * BLOCK, 12 * BLOCK), ...source.subarray(0, 8 * BLOCK)]);
    const streams = matchBsdiff(source, target);
    const adds = Array.from({ length: streams.ctrl.length / 24 }, (_, k) => readOfft(streams.ctrl, k * 24, 'add'));
    expect(adds.filter((add) => add > 0)).toEqual([4 * BLOCK, 8 * BLOCK]);
    expect(streams.extra.length).toBe(0);
    expect(Buffer.compare(applyBsdiffStreams(source, streams, target.length), target)).toBe(0);
  });

  it('an index given twins walks whole bucket chains at every window outside the twin blocks', () => {
    const source = blocks(4, 5);
    const fresh = blocks(1, 6);
    const target = Uint8Array.from([...block(source, 2), ...fresh, ...block(source, 0)]);
    const twins = twinBlocks(source, target);
    expect([...twins]).toEqual([2 * BLOCK, -1, 0]);
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const withTwins = new SourceIndex(source, target, twins);
    const walk = (index: SourceIndex, at: number) => {
      const out: number[] = [];
      for (let p = index.first(view(target), at); p >= 0; p = index.next(p)) out.push(p);
      return out;
    };
    const chains = Array.from({ length: BLOCK }, (_, k) => walk(withTwins, BLOCK + k));
    withTwins.release();
    const plain = new SourceIndex(source, target);
    chains.forEach((chain, k) => expect(chain).toEqual(walk(plain, BLOCK + k)));
    // Inside a twin block the source window the block came from is left out of the index.
    expect(walk(plain, 0)).toContain(2 * BLOCK);
    plain.release();
    const again = new SourceIndex(source, target, twins);
    expect(walk(again, 0)).not.toContain(2 * BLOCK);
    again.release();
  });
});
