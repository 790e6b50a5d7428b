// BlockDigests: one pass over an image that yields a sha256 per block (one typed array), a
// zero flag per block, and the sha256 of the whole image. Memory: 33 bytes per block + one read buffer.

import { createHash } from 'node:crypto';
import type { BlockSource } from '../image/block-source.js';

/** Size of the sequential reads while hashing. */
export const HASH_READ_BYTES = 4 * 1024 * 1024;

/** Per-block digests of one image. */
export interface BlockDigests {
  readonly blockSizeBytes: number;
  readonly blockCount: number;
  readonly sizeBytes: number;
  /** `blockCount × 32` bytes: block i's sha256 at `i * 32`. */
  readonly digests: Buffer;
  /** 1 where the block is all zeros. */
  readonly zero: Uint8Array;
  /** sha256 of the exact `sizeBytes` bytes of the image. */
  readonly imageSha256: Buffer;
}

/** Progress callback: bytes hashed so far. */
export type HashProgress = (doneBytes: number, totalBytes: number) => void;

/** Hashes every block of `source` in one sequential pass. */
export async function hashBlocks(source: BlockSource, blockSizeBytes: number, onProgress?: HashProgress): Promise<BlockDigests> {
  const blockCount = Math.ceil(source.sizeBytes / blockSizeBytes);
  const digests = Buffer.alloc(blockCount * 32);
  const zero = new Uint8Array(blockCount);
  const whole = createHash('sha256');
  const zeroBlock = Buffer.alloc(blockSizeBytes);
  const readBytes = Math.max(blockSizeBytes, HASH_READ_BYTES - (HASH_READ_BYTES % blockSizeBytes));
  for (let offset = 0; offset < source.sizeBytes; offset += readBytes) {
    const length = Math.min(readBytes, blockCount * blockSizeBytes - offset);
    const buf = await source.read(offset, length);
    whole.update(buf.subarray(0, Math.min(length, source.sizeBytes - offset)));
    for (let at = 0; at < length; at += blockSizeBytes) {
      const block = buf.subarray(at, at + blockSizeBytes);
      const index = (offset + at) / blockSizeBytes;
      if (block.equals(zeroBlock)) zero[index] = 1;
      createHash('sha256').update(block).digest().copy(digests, index * 32);
    }
    onProgress?.(Math.min(offset + length, source.sizeBytes), source.sizeBytes);
  }
  return { blockSizeBytes, blockCount, sizeBytes: source.sizeBytes, digests, zero, imageSha256: whole.digest() };
}

/** True when block `i` of `a` and block `j` of `b` have the same digest. */
export function sameBlock(a: BlockDigests, i: number, b: BlockDigests, j: number): boolean {
  return a.digests.compare(b.digests, j * 32, j * 32 + 32, i * 32, i * 32 + 32) === 0;
}
