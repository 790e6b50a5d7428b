// How far a fresh raw output is final, as the applier's steps write it: the frontier is the
// start of the first block a step has still to write (blocks no op writes, DONT_CARE and ZERO
// ops, stay the zeros of a fresh file). Writes ahead of the frontier (a gathered or twinned op's
// later extents) are noted by their block range and passed when the frontier reaches them. Pure
// bookkeeping: the bytes are hashed elsewhere (descriptor-hasher.ts), told which final ranges
// were never written (zeros in a fresh file: hashed unread, not read into the page cache).
// Memory: 17 bytes per step extent (the plan; 20 more while it is built).

import type { Extent } from '../model/extent.js';
import type { PartitionUpdate } from '../model/manifest.js';
import { applySteps, type ApplyStep } from './apply-steps.js';

/**
 * The frontier of a fresh output file (reads as zeros where nothing was written). The plan is
 * every op extent that writes data, sorted (ZERO ops write nothing to a fresh file). A write
 * behind the frontier (or ahead but not one planned extent) stops it: `running` is then false and
 * the caller hashes the whole file once it is complete. A package whose planned extents overlap
 * gets no plan: the frontier then runs to the end at once, and any write stops it.
 */
export class WriteFrontier {
  /** Planned extents (blocks), sorted by start and disjoint: [start, end). */
  private readonly planStart: Float64Array;
  private readonly planEnd: Float64Array;
  /** 1 where a planned extent was written. */
  private readonly written: Uint8Array;
  /** The first planned extent that ends past the frontier. */
  private next = 0;
  /** Blocks from the start of the image that are final (passed to `advance`'s taker). */
  private frontierBlock = 0;
  private readonly blockCount: number;
  private readonly sizeBytes: number;
  private stopped = false;

  /** For the output of `part` in blocks of `blockSizeBytes`. */
  constructor(
    part: PartitionUpdate,
    private readonly bs: number,
  ) {
    this.sizeBytes = part.target.sizeBytes;
    this.blockCount = Math.ceil(part.target.sizeBytes / bs);
    [this.planStart, this.planEnd] = planOf(applySteps(part, bs));
    this.written = new Uint8Array(this.planStart.length);
  }

  /** Whether the frontier still follows the writes (false: the file must be hashed whole at the end). */
  get running(): boolean {
    return !this.stopped;
  }

  /** Takes the completed write of `dst`. */
  note(dst: readonly Extent[]): void {
    for (const e of dst) {
      if (this.stopped) return;
      if (e.blockCount === 0) continue;
      const i = e.startBlock < this.frontierBlock ? -1 : this.planned(e.startBlock, e.startBlock + e.blockCount);
      if (i < 0) this.stopped = true;
      else this.written[i] = 1;
    }
  }

  /**
   * Moves the frontier over unplanned blocks and written extents, up to the first planned extent
   * not written yet (with `final`, no more writes come: to the end; a planned extent never
   * written is then the file's zeros). Each step is passed to `take` as the byte offset it ends
   * at and whether the file holds zeros up to there (nothing was written: no need to read it).
   */
  advance(take: (endBytes: number, zeros: boolean) => void, final = false): void {
    const count = this.planStart.length;
    const step = (block: number, zeros: boolean) => {
      if (block <= this.frontierBlock) return;
      this.frontierBlock = block;
      take(Math.min(block * this.bs, this.sizeBytes), zeros);
    };
    while (!this.stopped && this.next < count) {
      const written = this.written[this.next] === 1;
      if (!written && !final) break;
      step(this.planStart[this.next]!, true);
      step(this.planEnd[this.next]!, !written);
      this.next++;
    }
    if (this.stopped) return;
    step(this.next < count ? this.planStart[this.next]! : this.blockCount, true);
  }

  /** Index of the planned extent that is exactly [start, end) and not yet passed, else -1. */
  private planned(start: number, end: number): number {
    let lo = this.next;
    let hi = this.planStart.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.planStart[mid]! < start) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.planStart.length && this.planStart[lo] === start && this.planEnd[lo] === end ? lo : -1;
  }
}

/**
 * The sorted extents of the steps that write data (the ops, or an unchanged partition's `keep`
 * steps); none when they overlap (not a valid A/B package).
 */
function planOf(steps: readonly ApplyStep[]): [Float64Array, Float64Array] {
  let count = 0;
  for (const op of steps) if (op.type !== 'zero') count += op.dst.length;
  const starts = new Float64Array(count);
  const ends = new Float64Array(count);
  let n = 0;
  for (const op of steps) {
    if (op.type === 'zero') continue;
    for (const e of op.dst) {
      if (e.blockCount === 0) continue;
      starts[n] = e.startBlock;
      ends[n++] = e.startBlock + e.blockCount;
    }
  }
  const order = new Uint32Array(n).map((_, i) => i).sort((a, b) => starts[a]! - starts[b]!);
  const planStart = new Float64Array(n);
  const planEnd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    planStart[i] = starts[order[i]!]!;
    planEnd[i] = ends[order[i]!]!;
    if (i > 0 && planStart[i]! < planEnd[i - 1]!) return [new Float64Array(0), new Float64Array(0)];
  }
  return [planStart, planEnd];
}
