// Where the zip members of an image lie (local file header through the end of its deflate data),
// so the planner can keep a member in one op for a differ that needs whole deflate streams
// (traits.keepWhole). Fed the image's bytes in order as they are read for hashing, so finding the
// members costs no pass of its own; only members whose local header states their compressed size
// (no data descriptor) are found. Memory: the spans and a 29-byte carry between pieces.

import type { Extent } from '../model/extent.js';

/** A zip local file header's signature, PK\3\4. */
const LOCAL_HEADER = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/** A local header's fixed part: all that is needed to know where its member ends. */
const HEADER_BYTES = 30;

/** Finds the deflate zip members spanning 2 .. `maxSpanBlocks` blocks, in order, disjoint. */
export class ZipMemberScanner {
  private readonly found: Extent[] = [];
  /** The search resumes here: after the last member found (its data is not searched). */
  private resumeAt = 0;
  /** The last bytes of the previous piece, where a header may have started, and their offset. */
  private carry = Buffer.alloc(0);
  private carryAt = 0;

  constructor(
    private readonly sizeBytes: number,
    private readonly blockSizeBytes: number,
    private readonly maxSpanBlocks: number,
  ) {}

  /** Scans `piece`, the image's bytes at `offsetBytes`; pieces come in increasing offsets (gaps allowed). */
  feed(offsetBytes: number, piece: Uint8Array): void {
    let data = Buffer.from(piece.buffer, piece.byteOffset, piece.length);
    let base = offsetBytes;
    if (this.carry.length > 0 && this.carryAt + this.carry.length === offsetBytes) {
      if (data.length >= HEADER_BYTES - 1) {
        // A header that began in the carry is read with the piece's first bytes (no copy of the piece).
        const seam = Buffer.concat([this.carry, data.subarray(0, HEADER_BYTES - 1)]);
        this.scan(seam, this.carryAt, this.carry.length);
      } else {
        data = Buffer.concat([this.carry, data]); // a piece shorter than a header: carried on whole
        base = this.carryAt;
      }
    }
    this.scan(data, base, data.length);
    // A header cut by the piece's end starts within its last HEADER_BYTES - 1 bytes (never one
    // already taken: those had HEADER_BYTES to read); copied, as the reader reuses its buffers.
    const keepFrom = Math.max(data.length - (HEADER_BYTES - 1), this.resumeAt - base, 0);
    this.carry = keepFrom < data.length ? Buffer.from(data.subarray(keepFrom)) : Buffer.alloc(0);
    this.carryAt = base + keepFrom;
  }

  /** Takes the members whose header starts in data[0, limit) (`data` is the image at `base`). */
  private scan(data: Buffer, base: number, limit: number): void {
    for (let i = Math.max(0, this.resumeAt - base); i < limit; i++) {
      i = data.indexOf(LOCAL_HEADER, i);
      if (i < 0 || i >= limit || i + HEADER_BYTES > data.length) break;
      const end = this.memberEnd(data, i, base);
      if (end === undefined) continue;
      const startBlock = Math.floor((base + i) / this.blockSizeBytes);
      const blockCount = Math.ceil(end / this.blockSizeBytes) - startBlock;
      if (blockCount >= 2 && blockCount <= this.maxSpanBlocks) this.found.push({ startBlock, blockCount });
      this.resumeAt = end;
      i = end - base - 1;
    }
  }

  /** The members found so far. */
  spans(): Extent[] {
    return this.found;
  }

  /** Where the deflate member whose header is at data[i] ends (an image offset), or undefined if it is none. */
  private memberEnd(data: Buffer, i: number, base: number): number | undefined {
    const flags = data.readUInt16LE(i + 6);
    const compressedBytes = data.readUInt32LE(i + 18);
    if (data.readUInt16LE(i + 8) !== 8 || (flags & 9) !== 0 || compressedBytes === 0) return undefined;
    const end = base + i + HEADER_BYTES + data.readUInt16LE(i + 26) + data.readUInt16LE(i + 28) + compressedBytes;
    return end > this.sizeBytes ? undefined : end;
  }
}
