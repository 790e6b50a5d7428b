// PairMemo (src/diff/pair-memo.ts): results are shared only between pairs of equal bytes, and
// bsdiff-lzma hands every caller its own copy of a remembered patch.

import { describe, expect, it } from 'vitest';
import { BsdiffLzmaDiffer } from '../../src/diff/bsdiff-lzma-differ.js';
import { PairMemo } from '../../src/diff/pair-memo.js';
import { editedCopy, randomBytes } from '../codecs/sample-data.js';

describe('PairMemo', () => {
  it('finds a pair by its bytes, not by its buffers, and forgets the oldest of three', () => {
    const memo = new PairMemo();
    const [a, b] = [randomBytes(4096, 1), randomBytes(4096, 2)];
    const slot = memo.resultsOf(a, b)!;
    slot.streams = { ctrl: Buffer.alloc(0), diff: Buffer.alloc(0), extra: Buffer.alloc(0) };
    expect(memo.resultsOf(Buffer.from(a), Buffer.from(b))).toBe(slot);
    // A caller that changes its buffer afterwards does not change what the memo matched on.
    const changed = Buffer.from(a);
    changed[100]! ^= 1;
    expect(memo.resultsOf(changed, b)).not.toBe(slot);
    expect(memo.resultsOf(b, a)).not.toBe(slot);
    expect(memo.resultsOf(a, b)).not.toBe(slot); // evicted by the two newer pairs
  });

  it('a new pair copied into the buffers of the pair it evicts matches only its own bytes and length', () => {
    const memo = new PairMemo();
    const big = [randomBytes(8192, 5), randomBytes(8192, 6)] as const;
    const small = [randomBytes(1024, 7), randomBytes(512, 8)] as const;
    const mid = [big[0].subarray(0, 4096), randomBytes(4096, 9)] as const; // a prefix of what the storage held
    memo.resultsOf(...big);
    const smallSlot = memo.resultsOf(...small);
    const midSlot = memo.resultsOf(...mid)!; // evicts big, copied into its buffers (which hold big[0] whole)
    midSlot.streams = { ctrl: Buffer.alloc(0), diff: Buffer.alloc(0), extra: Buffer.alloc(0) };
    // Longer by the next byte the buffer holds: another pair (it evicts small, not mid).
    const longer = memo.resultsOf(big[0].subarray(0, 4097), mid[1]);
    expect(longer).not.toBe(midSlot);
    expect(longer!.streams).toBeUndefined();
    expect(memo.resultsOf(Buffer.from(mid[0]), Buffer.from(mid[1]))).toBe(midSlot);
    expect(memo.resultsOf(...small)).not.toBe(smallSlot); // evicted by the longer pair
  });

  it('bsdiff-lzma: the same pair again gives equal bytes in a buffer of its own', async () => {
    const source = randomBytes(64 * 1024, 3);
    const target = editedCopy(source, 4);
    const differ = new BsdiffLzmaDiffer();
    const first = await differ.diff(source, target);
    const again = await differ.diff(Buffer.from(source), Buffer.from(target));
    expect(again.equals(first)).toBe(true);
    // Its own bytes: a caller that changes (or transfers) it changes no other caller's patch.
    const kept = Buffer.from(first);
    again.fill(0);
    expect(first.equals(kept)).toBe(true);
    expect((await differ.diff(source, target)).equals(kept)).toBe(true);
  });
});
