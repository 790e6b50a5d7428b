// LabelMap: where the targets of references that leave every matched region went — exec-aware's
// label table (FORMAT.md §4, format 1.5). A call into a function the chunk's covers do not hold
// (it changed, or lies outside the source window) cannot be followed through a region, yet every
// call to it moved its target by the same amount: the table carries that amount once per run of
// such targets. Sorted, disjoint intervals of source positions, each with one shift. Built from
// votes at build time; decoded with caps on the device. Pure.

import { readVarint, varintBytes, writeVarint } from './varint.js';

/** Sorted, disjoint intervals [start, end) of source positions; a target inside one moves by its shift. */
export interface LabelMap {
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly shift: Float64Array;
}

/** A map with no interval. */
export const NO_LABELS: LabelMap = { start: new Float64Array(0), end: new Float64Array(0), shift: new Float64Array(0) };

/** Device memory per interval: three 8-byte numbers. */
export const LABEL_INTERVAL_BYTES = 24;
/**
 * Least references an interval must fix to be worth its entry: an entry costs a few bytes, one
 * fixed rel32 spares about three diff bytes. On the bench's x86-64 chunks (patch-256) 3 saved the
 * most: 1 (an entry per lone target) lost 40 % of the gain, 2, 4 and 6 lost 1-3 %.
 */
export const MIN_LABEL_REFERENCES = 3;
/** Largest position or shift magnitude a table may hold (positions are source offsets). */
const MAX_LABEL_MAGNITUDE = 2 ** 40;

/** Index of the last of the ascending `starts` at or before `t`, or -1 (a binary search). */
export function lastStartAtOrBefore(starts: Float64Array, t: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((starts[mid] as number) <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The shift of the interval holding `t`, or undefined. */
export function labelShift(map: LabelMap, t: number): number | undefined {
  const found = lastStartAtOrBefore(map.start, t);
  return found >= 0 && t < (map.end[found] as number) ? (map.shift[found] as number) : undefined;
}

/** Collects (target, shift) votes, then builds the map they agree on. */
export class LabelVotes {
  private labels: number[] = [];
  private shifts: number[] = [];

  add(label: number, shift: number): void {
    this.labels.push(label);
    this.shifts.push(shift);
  }

  /**
   * Each voted target takes its most frequent shift (ties: the smaller); targets next to each
   * other in order with one shift join an interval [first, last + 1); intervals fixing fewer than
   * MIN_LABEL_REFERENCES references are dropped. Deterministic for the same votes in any order.
   */
  build(): LabelMap {
    const n = this.labels.length;
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => this.labels[a]! - this.labels[b]! || this.shifts[a]! - this.shifts[b]!);
    // One (label, shift, count) per label: its most frequent shift.
    const label: number[] = [];
    const shift: number[] = [];
    const count: number[] = [];
    for (let i = 0; i < n;) {
      const l = this.labels[order[i]!]!;
      let bestShift = 0;
      let bestCount = 0;
      while (i < n && this.labels[order[i]!] === l) {
        const s = this.shifts[order[i]!]!;
        let c = 0;
        while (i < n && this.labels[order[i]!] === l && this.shifts[order[i]!] === s) {
          c++;
          i++;
        }
        if (c > bestCount) {
          bestCount = c;
          bestShift = s;
        }
      }
      label.push(l);
      shift.push(bestShift);
      count.push(bestCount);
    }
    const start: number[] = [];
    const end: number[] = [];
    const shifts: number[] = [];
    for (let k = 0; k < label.length;) {
      let j = k;
      let refs = 0;
      while (j < label.length && shift[j] === shift[k]) refs += count[j++]!;
      const within = Math.abs(label[k]!) < MAX_LABEL_MAGNITUDE && Math.abs(label[j - 1]! + 1) < MAX_LABEL_MAGNITUDE;
      if (refs >= MIN_LABEL_REFERENCES && within && Math.abs(shift[k]!) < MAX_LABEL_MAGNITUDE) {
        start.push(label[k]!);
        end.push(label[j - 1]! + 1);
        shifts.push(shift[k]!);
      }
      k = j;
    }
    return { start: Float64Array.from(start), end: Float64Array.from(end), shift: Float64Array.from(shifts) };
  }
}

const zigzag = (v: number): number => (v >= 0 ? 2 * v : -2 * v - 1);
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

/**
 * The table's bytes: a varint interval count, then per interval three varints — the gap from
 * the previous interval's end (zigzag for the first, from 0; plain after), the length − 1, and
 * the shift's difference from the previous shift (zigzag).
 */
export function encodeLabelMap(map: LabelMap): Buffer {
  const fields: number[] = [map.start.length];
  let end = 0;
  let shift = 0;
  for (let k = 0; k < map.start.length; k++) {
    const s = map.start[k] as number;
    fields.push(
      k === 0 ? zigzag(s) : s - end,
      (map.end[k] as number) - s - 1,
      zigzag((map.shift[k] as number) - shift),
    );
    end = map.end[k] as number;
    shift = map.shift[k] as number;
  }
  const out = Buffer.alloc(fields.reduce((t, f) => t + varintBytes(f), 0));
  let at = 0;
  for (const f of fields) at = writeVarint(out, at, f);
  return out;
}

/** A decoded table and the offset after it. */
export interface DecodedLabelMap {
  readonly map: LabelMap;
  readonly end: number;
}

/**
 * Reads a table at `at`, refusing (through `fail`) more than `maxIntervals` intervals (checked
 * before allocating), a truncated or overlong varint and any position or shift of magnitude 2^40
 * or more. Intervals come out sorted and disjoint by construction.
 */
export function decodeLabelMap(
  bytes: Uint8Array,
  at: number,
  maxIntervals: number,
  fail: (detail: string) => Error,
): DecodedLabelMap {
  const varint = (field: string): number => {
    const read = readVarint(bytes, at);
    if (typeof read === 'string') throw fail(`label table ${field} at offset ${at} is ${read}`);
    at = read.end;
    return read.value;
  };
  const count = varint('interval count');
  if (count > maxIntervals) throw fail(`label table has ${count} intervals, more than the ${maxIntervals} allowed`);
  const map = { start: new Float64Array(count), end: new Float64Array(count), shift: new Float64Array(count) };
  let end = 0;
  let shift = 0;
  for (let k = 0; k < count; k++) {
    const gap = varint(`interval ${k} start`);
    const start = k === 0 ? unzigzag(gap) : end + gap;
    end = start + varint(`interval ${k} length`) + 1;
    shift += unzigzag(varint(`interval ${k} shift`));
    if (Math.abs(start) >= MAX_LABEL_MAGNITUDE || Math.abs(end) >= MAX_LABEL_MAGNITUDE)
      throw fail(`label table interval ${k} lies outside ±2^40`);
    if (Math.abs(shift) >= MAX_LABEL_MAGNITUDE) throw fail(`label table interval ${k}'s shift is outside ±2^40`);
    map.start[k] = start;
    map.end[k] = end;
    map.shift[k] = shift;
  }
  return { map, end: at };
}
