// matchBsdiff (src/diff/bsdiff-matcher.ts) folds covers too short to earn a control tuple into the
// extra block: the blocks still rebuild the target exactly, and no tuple after the first adds
// 24 bytes or fewer.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchBsdiff } from '../../src/diff/bsdiff-matcher.js';
import { applyBsdiffStreams, controlTotals, readOfft } from '../../src/diff/bsdiff-patch.js';
import { mulberry32 } from '../../src/hashing/mulberry32.js';

/** The add lengths of every control tuple. */
function addLengths(ctrl: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 0; at < ctrl.length; at += 24) out.push(readOfft(ctrl, at, 'add'));
  return out;
}

/** Random bytes of `length` from `seed`. */
function noise(length: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  return Uint8Array.from({ length }, () => next() & 0xff);
}

/**
 * A target of source slices between random runs: the long slices make covers, and each random
 * run ends with a short slice (`shortBytes`) copied from elsewhere in the source.
 */
function spliced(source: Uint8Array, pieces: number, shortBytes: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  const next = () => random() / 2 ** 32;
  const parts: Uint8Array[] = [];
  for (let k = 0; k < pieces; k++) {
    const at = Math.floor(next() * (source.length - 600));
    parts.push(source.subarray(at, at + 200 + Math.floor(next() * 300)));
    parts.push(noise(40, seed + k));
    const from = Math.floor(next() * (source.length - shortBytes));
    parts.push(source.subarray(from, from + shortBytes));
    parts.push(noise(40, seed + 1000 + k));
  }
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

describe('matchBsdiff folds short covers', () => {
  it('leaves no tuple after the first with an add of 24 bytes or fewer, and the blocks rebuild the target', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 8, max: 40 }), (seed, shortBytes) => {
        const source = noise(32 * 1024, seed);
        const target = spliced(source, 12, shortBytes, seed);
        const streams = matchBsdiff(source, target);
        const adds = addLengths(streams.ctrl);
        for (const add of adds.slice(1)) expect(add).toBeGreaterThan(24);
        const totals = controlTotals(streams.ctrl, target.length, 'test');
        expect(totals.addBytes).toBe(streams.diff.length);
        expect(totals.copyBytes).toBe(streams.extra.length);
        expect(applyBsdiffStreams(source, streams, target.length).equals(Buffer.from(target))).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('keeps a cover just longer than 24 bytes', () => {
    const source = noise(32 * 1024, 7);
    const target = spliced(source, 12, 40, 7);
    expect(addLengths(matchBsdiff(source, target).ctrl).filter((add) => add > 24 && add <= 60).length).toBeGreaterThan(
      0,
    );
  });
});
