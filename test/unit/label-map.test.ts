// exec-aware's label table (src/diff/label-map.ts): the votes' intervals, the table's bytes read
// back as written, and hostile tables refused before anything is allocated from them.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeLabelMap,
  encodeLabelMap,
  labelShift,
  LabelVotes,
  MIN_LABEL_REFERENCES,
  type LabelMap,
} from '../../src/diff/label-map.js';

const fail = (detail: string) => new Error(detail);
const asArrays = (m: LabelMap) => ({ start: [...m.start], end: [...m.end], shift: [...m.shift] });

/** Sorted, disjoint, non-empty intervals with shifts, from gaps and lengths. */
const maps = fc
  .array(fc.tuple(fc.nat(5000), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: -1e6, max: 1e6 })), {
    maxLength: 40,
  })
  .chain((rows) =>
    fc.integer({ min: -1e6, max: 1e6 }).map((first) => {
      const start: number[] = [];
      const end: number[] = [];
      const shift: number[] = [];
      let at = first;
      for (const [gap, length, s] of rows) {
        at += start.length === 0 ? 0 : gap;
        start.push(at);
        end.push(at + length);
        shift.push(s);
        at += length;
      }
      return { start: Float64Array.from(start), end: Float64Array.from(end), shift: Float64Array.from(shift) };
    }),
  );

describe('label table', () => {
  it('reads back what it writes, and reports where it ends (fast-check)', () => {
    fc.assert(
      fc.property(maps, fc.uint8Array({ maxLength: 8 }), (map, after) => {
        const bytes = Buffer.concat([encodeLabelMap(map), after]);
        const decoded = decodeLabelMap(bytes, 0, map.start.length, fail);
        expect(asArrays(decoded.map)).toEqual(asArrays(map));
        expect(decoded.end).toBe(bytes.length - after.length);
      }),
    );
  });

  it('maps a position inside an interval by its shift, and none outside', () => {
    const map = { start: Float64Array.of(-50, 10), end: Float64Array.of(-40, 20), shift: Float64Array.of(7, -3) };
    expect(labelShift(map, -50)).toBe(7);
    expect(labelShift(map, -41)).toBe(7);
    expect(labelShift(map, -40)).toBeUndefined();
    expect(labelShift(map, 15)).toBe(-3);
    expect(labelShift(map, 20)).toBeUndefined();
    expect(labelShift(map, -51)).toBeUndefined();
  });

  it("keeps each target's most frequent shift, joins neighbours of one shift, drops thin intervals", () => {
    const votes = new LabelVotes();
    // Targets 100 and 200 agree on +8 (2 + 2 votes, one stray); 300 has +9 by 3; 400 has +5 once.
    for (const [label, shift] of [
      [100, 8],
      [100, 8],
      [100, 1],
      [200, 8],
      [200, 8],
      [300, 9],
      [300, 9],
      [300, 9],
      [400, 5],
    ] as const)
      votes.add(label, shift);
    expect(MIN_LABEL_REFERENCES).toBe(3);
    expect(asArrays(votes.build())).toEqual({ start: [100, 300], end: [201, 301], shift: [8, 9] });
  });

  it('builds the same map from the same votes in any order (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -300, max: 300 }), fc.integer({ min: -3, max: 3 })), { maxLength: 200 }),
        fc.nat(),
        (rows, seed) => {
          const shuffled = [...rows].sort((a, b) => ((a[0] * 31 + a[1] + seed) % 7) - ((b[0] * 31 + b[1] + seed) % 7));
          const one = new LabelVotes();
          const two = new LabelVotes();
          for (const [l, s] of rows) one.add(l, s);
          for (const [l, s] of shuffled) two.add(l, s);
          expect(asArrays(two.build())).toEqual(asArrays(one.build()));
        },
      ),
    );
  });

  it('refuses more intervals than allowed before reading them, truncated tables and huge positions', () => {
    const three = encodeLabelMap({
      start: Float64Array.of(1, 10, 20),
      end: Float64Array.of(2, 12, 25),
      shift: Float64Array.of(4, 4, -4),
    });
    expect(() => decodeLabelMap(three, 0, 2, fail)).toThrow(/3 intervals, more than the 2 allowed/);
    // A count of 2^42 with nothing after it: refused on the count, not on the missing bytes.
    expect(() => decodeLabelMap(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 0, 1000, fail)).toThrow(
      /more than the 1000 allowed/,
    );
    for (let cut = 0; cut < three.length; cut++)
      expect(() => decodeLabelMap(three.subarray(0, cut), 0, 10, fail)).toThrow(/label table/);
    // Varints of 8 bytes are refused; a start of 2^40 is refused.
    expect(() =>
      decodeLabelMap(Buffer.from([1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0]), 0, 10, fail),
    ).toThrow(/label table/);
    const far = encodeLabelMap({
      start: Float64Array.of(2 ** 40),
      end: Float64Array.of(2 ** 40 + 1),
      shift: Float64Array.of(0),
    });
    expect(() => decodeLabelMap(far, 0, 10, fail)).toThrow(/outside ±2\^40/);
    const farShift = encodeLabelMap({
      start: Float64Array.of(0),
      end: Float64Array.of(1),
      shift: Float64Array.of(-(2 ** 40)),
    });
    expect(() => decodeLabelMap(farShift, 0, 10, fail)).toThrow(/shift is outside ±2\^40/);
  });
});
