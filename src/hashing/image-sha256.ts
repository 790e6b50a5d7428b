// The image sha256: the one definition of an image's identity, used by build (block-digests),
// apply (base check, staged and finished outputs) and verify (through apply). It is the sha256 of
// the exact `sizeBytes` bytes of the expanded image, in order, with the bytes of `zeroed` extents
// (DONT_CARE blocks, undefined on a device) hashed as zeros. Memory: two 4 MiB read buffers,
// reused: the next chunk is read (libuv pool) while this one is hashed.

import { createHash, type Hash } from 'node:crypto';
import type { BlockSource } from '../image/block-source.js';
import { ReadAhead, type ByteRange } from '../image/read-ahead.js';
import type { Extent } from '../model/extent.js';

/** Size of the sequential reads of {@link imageSha256}. */
const READ_BYTES = 4 * 1024 * 1024;
const ZEROS = Buffer.alloc(64 * 1024);

/** A streaming image sha256: feed the image's bytes in order, then take the digest. */
export class ImageSha256 {
  private readonly hash: Hash = createHash('sha256');
  private readonly zeroedBytes: { start: number; end: number }[];
  private first = 0; // first zeroed range that may still reach the next bytes
  private fedBytes = 0;

  /** An image of `sizeBytes` in blocks of `blockSizeBytes`, whose `zeroed` extents hash as zeros. */
  constructor(
    readonly sizeBytes: number,
    readonly blockSizeBytes: number,
    zeroed: readonly Extent[] = [],
  ) {
    if (!Number.isSafeInteger(blockSizeBytes) || blockSizeBytes <= 0)
      throw new RangeError(`image sha256: block size must be a positive integer, got ${blockSizeBytes}`);
    this.zeroedBytes = [...zeroed]
      .sort((a, b) => a.startBlock - b.startBlock)
      .map((e) => ({ start: e.startBlock * blockSizeBytes, end: (e.startBlock + e.blockCount) * blockSizeBytes }));
  }

  /** Feeds the next bytes of the image (bytes past `sizeBytes` are ignored); never changes `bytes`. */
  update(bytes: Uint8Array): this {
    const at = this.fedBytes;
    const length = Math.min(bytes.length, this.sizeBytes - at);
    if (length <= 0) return this;
    const ranges = this.zeroedBytes;
    while (this.first < ranges.length && ranges[this.first]!.end <= at) this.first++;
    let done = at;
    for (let i = this.first; i < ranges.length && ranges[i]!.start < at + length; i++) {
      const start = Math.max(done, ranges[i]!.start);
      const end = Math.min(at + length, ranges[i]!.end);
      if (end <= start) continue;
      this.hash.update(bytes.subarray(done - at, start - at));
      for (let z = start; z < end; z += ZEROS.length)
        this.hash.update(ZEROS.subarray(0, Math.min(ZEROS.length, end - z)));
      done = end;
    }
    this.hash.update(bytes.subarray(done - at, length));
    this.fedBytes = at + length;
    return this;
  }

  /** The digest; throws when fewer than `sizeBytes` bytes were fed. */
  digest(): Buffer {
    if (this.fedBytes !== this.sizeBytes)
      throw new RangeError(`image sha256: fed ${this.fedBytes} of the image's ${this.sizeBytes} bytes`);
    return this.hash.digest();
  }
}

/**
 * The image sha256 of `source` (see the file comment), read sequentially in 4 MiB chunks into two
 * buffers that take turns: chunk n + 1 is being read while chunk n is hashed.
 */
export async function imageSha256(
  source: BlockSource,
  blockSizeBytes: number,
  zeroed: readonly Extent[] = [],
): Promise<Buffer> {
  const hash = new ImageSha256(source.sizeBytes, blockSizeBytes, zeroed);
  const size = source.sizeBytes;
  const ranges: ByteRange[] = [];
  for (let at = 0; at < size; at += READ_BYTES)
    ranges.push({ offsetBytes: at, sizeBytes: Math.min(READ_BYTES, size - at) });
  const reads = new ReadAhead(source, ranges);
  for (let k = 0; k < ranges.length; k++) hash.update(await reads.next());
  return hash.digest();
}
