// The bsdiff-lzma applier's sparse path: adding a checked sparse diff onto bulk-copied old bytes
// must give exactly what the dense walk gives (old bytes outside the source read as zeros), and
// checkSparseDiff must accept and refuse exactly what expandSparseDiff does, with the same message.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyBsdiffStreams, CTRL_TUPLE_BYTES, writeOfft } from '../../src/diff/bsdiff-patch.js';
import { checkSparseDiff, encodeSparseDiff, expandSparseDiff } from '../../src/diff/sparse-diff.js';

/** A control block, diff and extra blocks from tuples (add, copy, seek); diff mostly zeros. */
function streamsOf(tuples: [number, number, number][], diffSeed: number[]) {
  const ctrl = Buffer.alloc(tuples.length * CTRL_TUPLE_BYTES);
  let addTotal = 0;
  let copyTotal = 0;
  tuples.forEach(([add, copy, seek], i) => {
    writeOfft(ctrl, i * CTRL_TUPLE_BYTES, add);
    writeOfft(ctrl, i * CTRL_TUPLE_BYTES + 8, copy);
    writeOfft(ctrl, i * CTRL_TUPLE_BYTES + 16, seek);
    addTotal += add;
    copyTotal += copy;
  });
  const diff = Buffer.alloc(addTotal);
  for (let i = 0; i < addTotal; i++) {
    const r = diffSeed[i % diffSeed.length]!;
    diff[i] = r % 3 === 0 ? r & 0xff : 0;
  }
  const extra = Buffer.alloc(copyTotal, 0x5a);
  return { ctrl, diff, extra, outputBytes: addTotal + copyTotal };
}

describe('bsdiff sparse apply', () => {
  it('adds a sparse diff exactly as the dense walk does, seeks outside the source included', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.array(fc.tuple(fc.nat(64), fc.nat(16), fc.integer({ min: -400, max: 400 })), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.array(fc.nat(1000), { minLength: 1, maxLength: 50 }),
        (source, tuples, diffSeed) => {
          const { ctrl, diff, extra, outputBytes } = streamsOf(tuples, diffSeed);
          const dense = applyBsdiffStreams(source, { ctrl, diff, extra }, outputBytes);
          const sparse = checkSparseDiff('t', encodeSparseDiff(diff), diff.length);
          const viaSparse = applyBsdiffStreams(source, { ctrl, diff: sparse, extra }, outputBytes);
          expect(viaSparse.equals(dense)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('checkSparseDiff refuses exactly what expandSparseDiff refuses, with the same message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.nat(64), (bytes, denseBytes) => {
        const outcome = (f: () => unknown) => {
          try {
            f();
            return 'ok';
          } catch (err) {
            return (err as Error).message;
          }
        };
        expect(outcome(() => checkSparseDiff('t', bytes, denseBytes))).toBe(
          outcome(() => expandSparseDiff('t', bytes, denseBytes)),
        );
      }),
      { numRuns: 500 },
    );
  });
});
