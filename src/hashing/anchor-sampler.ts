// Content-defined anchors: positions chosen by the content itself (a gear rolling hash over the
// last 32 bytes has its top ANCHOR_BITS bits zero: one anchor per ~1 KiB on average), each with a
// 32-bit fingerprint of the same 32 bytes (a second gear hash). The same content gives the same
// anchors wherever it sits, so anchors find data that moved, even by a few bytes.
// Memory: 12 bytes per anchor (~12 MiB per GiB of image); zero blocks get no anchors.

import { mulberry32 } from './mulberry32.js';

/** Top bits of the selector hash that must be zero at an anchor (1 in 2^ANCHOR_BITS positions). */
export const ANCHOR_BITS = 10;

/** Anchors of one image, sorted by position. */
export interface AnchorList {
  readonly fingerprints: Uint32Array;
  /** Byte offset just after the 32-byte window each anchor summarizes. */
  readonly positions: Float64Array;
  readonly count: number;
}

function gearTable(seed: number): Int32Array {
  const next = mulberry32(seed);
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) t[i] = next(); // uint32 stored as int32: the same 32 bits
  return t;
}
const SELECT = gearTable(0x0a5c4e1d);
const PRINT = gearTable(0x7f4a7c15);
const SELECT_SHIFT = 32 - ANCHOR_BITS;

/** Bytes a gear hash depends on: each step shifts by one, so a byte is gone from a 32-bit hash after 32. */
const WINDOW_BYTES = 32;

/** Streams an image's bytes (in order) and collects its anchors. */
export class AnchorSampler {
  private select = 0;
  private fingerprints = new Uint32Array(1024);
  private positions = new Float64Array(1024);
  private count = 0;
  private nextOffset = 0;
  /** Bytes fed since the rolling state was last reset (counted up to WINDOW_BYTES). */
  private run = 0;
  /** The last WINDOW_BYTES bytes fed (the newest last), for a fingerprint whose window starts in an earlier call. */
  private readonly tail = new Uint8Array(WINDOW_BYTES);

  /**
   * Feeds `data`, which starts at `offsetBytes` (must follow the previous call). Spans marked
   * `skip` (zero or DONT_CARE blocks) reset the rolling state and yield no anchors. Only the
   * selector rolls over every byte; an anchor's fingerprint (the second gear hash of the same
   * window) is computed at the anchor from its window, the same value as rolled.
   */
  feed(offsetBytes: number, data: Uint8Array, skip = false): void {
    if (skip || offsetBytes !== this.nextOffset) {
      this.select = 0;
      this.run = 0;
    }
    this.nextOffset = offsetBytes + data.length;
    if (skip) return;
    let s = this.select;
    for (let i = 0; i < data.length; i++) {
      s = ((s << 1) + SELECT[data[i]!]!) | 0;
      if (s >>> SELECT_SHIFT === 0) this.push(this.fingerprintAt(data, i), offsetBytes + i + 1);
    }
    this.select = s;
    this.keepTail(data);
  }

  /** The PRINT gear hash of the window ending at `data[i]`: the bytes since the reset, at most WINDOW_BYTES. */
  private fingerprintAt(data: Uint8Array, i: number): number {
    const windowBytes = Math.min(WINDOW_BYTES, this.run + i + 1);
    let p = 0;
    for (let j = i - windowBytes + 1; j <= i; j++) {
      const b = j >= 0 ? data[j]! : this.tail[WINDOW_BYTES + j]!;
      p = ((p << 1) + PRINT[b]!) | 0;
    }
    return p >>> 0;
  }

  /** Keeps the last WINDOW_BYTES bytes fed and counts the run. */
  private keepTail(data: Uint8Array): void {
    const n = data.length;
    if (n >= WINDOW_BYTES) this.tail.set(data.subarray(n - WINDOW_BYTES));
    else {
      this.tail.copyWithin(0, n);
      this.tail.set(data, WINDOW_BYTES - n);
    }
    this.run = Math.min(WINDOW_BYTES, this.run + n);
  }

  private push(fingerprint: number, position: number): void {
    if (this.count === this.fingerprints.length) {
      const f = new Uint32Array(this.count * 2);
      f.set(this.fingerprints);
      this.fingerprints = f;
      const q = new Float64Array(this.count * 2);
      q.set(this.positions);
      this.positions = q;
    }
    this.fingerprints[this.count] = fingerprint;
    this.positions[this.count] = position;
    this.count++;
  }

  /** The anchors collected, trimmed to size. */
  finish(): AnchorList {
    return {
      fingerprints: this.fingerprints.slice(0, this.count),
      positions: this.positions.slice(0, this.count),
      count: this.count,
    };
  }
}
