// The running image sha256 of a fresh raw output, taken up to a frontier as the ops write it. A
// write at the frontier is hashed from its own buffer; a write ahead of blocks that an op has
// still to write is only noted (its block range) and read back from the file once the frontier
// reaches it; blocks no op writes (DONT_CARE, ZERO ops) are hashed as the zeros of a fresh file.
// Memory: 17 bytes per op extent (the plan; 20 more while it is built) and one 1 MiB read buffer.

import type { Extent } from '../model/extent.js';
import type { PartitionUpdate } from '../model/manifest.js';
import { ImageSha256 } from '../hashing/image-sha256.js';

/** Reads `into.length` bytes of the output at `offsetBytes` into `into`; returns how many it read. */
export type OutputReader = (into: Buffer, offsetBytes: number) => Promise<number>;

/** Bytes of one read back (at most). */
const READ_BACK_BYTES = 1024 * 1024;
const ZEROS = Buffer.alloc(READ_BACK_BYTES);

/**
 * The image sha256 of a fresh file (reads as zeros where nothing was written) as the writes to it
 * come. The plan is every op extent that writes data, sorted (ZERO ops write nothing to a fresh file).
 * A write behind the frontier (or ahead but not one planned extent) stops the hash: `running` is
 * then false and the caller hashes the whole file instead. A package whose planned extents overlap
 * gets no plan: every gap is then hashed as zeros, and a write into one stops the hash.
 */
export class FrontierHash {
  private readonly hash: ImageSha256;
  /** Planned extents (blocks), sorted by start and disjoint: [start, end). */
  private readonly planStart: Float64Array;
  private readonly planEnd: Float64Array;
  /** 1 where a planned extent was written ahead of the frontier and is to be read back. */
  private readonly written: Uint8Array;
  /** The first planned extent that ends past the frontier. */
  private next = 0;
  /** Blocks from the start of the image that the hash has taken. */
  private frontierBlock = 0;
  private readonly blockCount: number;
  private stopped = false;
  private readBuffer: Buffer | undefined;
  private readBack = 0;

  /** For the output of `part` in blocks of `blockSizeBytes`. */
  constructor(
    part: PartitionUpdate,
    private readonly bs: number,
  ) {
    this.hash = new ImageSha256(part.target.sizeBytes, bs);
    this.blockCount = Math.ceil(part.target.sizeBytes / bs);
    [this.planStart, this.planEnd] = planOf(part);
    this.written = new Uint8Array(this.planStart.length);
  }

  /** Whether the hash still follows the writes (false: the caller must hash the whole file). */
  get running(): boolean {
    return !this.stopped;
  }

  /** Bytes read back from the file so far for writes that came ahead of the frontier. */
  get readBackBytes(): number {
    return this.readBack;
  }

  /**
   * Takes a write of `data` to `dst` (synchronous: call it while the write is under way; `data` is
   * not changed). Then, once that write completed, call `catchUp`.
   */
  follow(dst: readonly Extent[], data: Buffer): void {
    let at = 0;
    for (const e of dst) {
      if (this.stopped) return;
      const start = e.startBlock;
      const end = start + e.blockCount;
      const bytes = data.subarray(at, at + e.blockCount * this.bs);
      at += bytes.length;
      if (e.blockCount === 0) continue;
      if (start < this.frontierBlock) {
        this.stopped = true; // behind what was hashed
      } else if (this.next < this.planStart.length && this.planStart[this.next]! < start) {
        // Blocks before it are still to be written, or written ahead and not read back yet.
        const i = this.planned(start, end);
        if (i < 0) this.stopped = true;
        else this.written[i] = 1;
      } else {
        this.hashZeros(start); // nothing is planned before it: zeros
        this.hash.update(bytes);
        this.advanceTo(end);
      }
    }
  }

  /**
   * Moves the frontier over what can be hashed now: zeros, then the extents written ahead that
   * it reaches, read back through `read` in pieces of at most 1 MiB; stops at a planned extent not
   * written yet. The writes of the extents it reads must have completed. With `final` (no more
   * writes), a planned extent never written is hashed as zeros and the frontier reaches the end.
   */
  async catchUp(read: OutputReader, final = false): Promise<void> {
    const count = this.planStart.length;
    while (!this.stopped && this.frontierBlock < this.blockCount) {
      if (this.next >= count) {
        if (final) this.hashZeros(this.blockCount);
        return;
      }
      const start = this.planStart[this.next]!;
      const end = this.planEnd[this.next]!;
      if (start > this.frontierBlock) this.hashZeros(start);
      else if (this.written[this.next]) await this.hashFromFile(end, read);
      else if (final) this.hashZeros(end);
      else return;
    }
  }

  /** The digest, once `catchUp(read, true)` has run; undefined when the hash stopped. */
  digest(): Buffer | undefined {
    return this.stopped ? undefined : this.hash.digest();
  }

  /** Index of the planned extent that is exactly [start, end), else -1. */
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

  /** Sets the frontier to `block` (forward) and skips the planned extents it passed. */
  private advanceTo(block: number): void {
    this.frontierBlock = Math.min(block, this.blockCount);
    while (this.next < this.planStart.length && this.planEnd[this.next]! <= this.frontierBlock) this.next++;
  }

  /** Hashes zeros from the frontier to `block`. */
  private hashZeros(block: number): void {
    const size = this.hash.sizeBytes;
    const end = Math.min(block * this.bs, size);
    for (let at = this.frontierBlock * this.bs; at < end; at += ZEROS.length)
      this.hash.update(ZEROS.subarray(0, Math.min(ZEROS.length, end - at)));
    this.advanceTo(block);
  }

  /** Hashes the file's bytes from the frontier to `block`, read back through `read`. */
  private async hashFromFile(block: number, read: OutputReader): Promise<void> {
    const end = Math.min(block * this.bs, this.hash.sizeBytes);
    this.readBuffer ??= Buffer.allocUnsafeSlow(READ_BACK_BYTES);
    for (let at = this.frontierBlock * this.bs; at < end;) {
      const piece = this.readBuffer.subarray(0, Math.min(READ_BACK_BYTES, end - at));
      const got = await read(piece, at);
      piece.fill(0, got); // past the end of the file: zeros
      this.hash.update(piece);
      this.readBack += piece.length;
      at += piece.length;
    }
    this.advanceTo(block);
  }
}

/** The sorted extents of the ops that write data; none when they overlap (not a valid A/B package). */
function planOf(part: PartitionUpdate): [Float64Array, Float64Array] {
  let count = 0;
  for (const op of part.operations) if (op.type !== 'zero') count += op.dst.length;
  const starts = new Float64Array(count);
  const ends = new Float64Array(count);
  let n = 0;
  for (const op of part.operations) {
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
