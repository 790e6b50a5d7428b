// ReadAhead: reads byte ranges of a BlockSource in order, each one started while the caller works
// on the one before, so the libuv pool reads as the thread computes (hashing an image). Memory:
// two buffers of the largest range, used in turn, when the source reads into a caller's buffer
// (readInto); else the source's own buffer per read, at most two alive.

import type { BlockSource } from './block-source.js';

/** `sizeBytes` bytes of an image from `offsetBytes` (past its end they read as zeros). */
export interface ByteRange {
  readonly offsetBytes: number;
  readonly sizeBytes: number;
}

/** The ranges' bytes, in order, one read ahead of the caller. */
export class ReadAhead {
  private readonly buffers: Buffer[] = [];
  private started = 0;
  private pending: Promise<Buffer> | undefined;

  constructor(
    private readonly source: BlockSource,
    private readonly ranges: readonly ByteRange[],
  ) {
    if (source.readInto) {
      let largestBytes = 0;
      for (const r of ranges) largestBytes = Math.max(largestBytes, r.sizeBytes);
      const count = Math.min(2, ranges.length);
      for (let i = 0; i < count; i++) this.buffers.push(Buffer.allocUnsafeSlow(largestBytes));
    }
    this.pending = this.start();
  }

  /**
   * The bytes of the next range, which stay valid until the call after this one (its buffer is
   * then read into again). Throws the read's error; past the last range, throws a RangeError.
   */
  async next(): Promise<Buffer> {
    const current = this.pending;
    if (!current) throw new RangeError(`read ahead: all ${this.ranges.length} ranges were read`);
    this.pending = this.start();
    return current;
  }

  private start(): Promise<Buffer> | undefined {
    const k = this.started;
    const range = this.ranges[k];
    if (!range) return undefined;
    this.started++;
    const read = this.source.readInto
      ? this.readInto(range, this.buffers[k % this.buffers.length]!.subarray(0, range.sizeBytes))
      : this.source.read(range.offsetBytes, range.sizeBytes);
    read.catch(() => undefined); // thrown by next(); a read started but never asked for is not unhandled
    return read;
  }

  private async readInto(range: ByteRange, into: Buffer): Promise<Buffer> {
    await this.source.readInto!(range.offsetBytes, into);
    return into;
  }
}
