// sha256 of a whole BlockSource, read sequentially in bounded chunks, with optional extents read
// as zeros (DONT_CARE blocks whose content on a device is undefined).

import { createHash } from 'node:crypto';
import type { BlockSource } from '../image/block-source.js';
import type { Extent } from '../model/extent.js';

const READ_BYTES = 4 * 1024 * 1024;

/** Hashes the exact `sizeBytes` bytes of `source`, `zeroed` blocks as zeros. Memory: one 4 MiB buffer. */
export async function hashSource(
  source: BlockSource,
  zeroed: readonly Extent[] = [],
  blockSizeBytes = 4096,
): Promise<Buffer> {
  const hash = createHash('sha256');
  const sorted = [...zeroed].sort((a, b) => a.startBlock - b.startBlock);
  let first = 0; // first extent that may still reach the current chunk
  for (let at = 0; at < source.sizeBytes; at += READ_BYTES) {
    const length = Math.min(READ_BYTES, source.sizeBytes - at);
    const buf = await source.read(at, length);
    while (first < sorted.length && (sorted[first]!.startBlock + sorted[first]!.blockCount) * blockSizeBytes <= at)
      first++;
    for (let i = first; i < sorted.length && sorted[i]!.startBlock * blockSizeBytes < at + length; i++) {
      const e = sorted[i]!;
      const start = Math.max(at, e.startBlock * blockSizeBytes);
      const end = Math.min(at + length, (e.startBlock + e.blockCount) * blockSizeBytes);
      if (end > start) buf.fill(0, start - at, end - at);
    }
    hash.update(buf);
  }
  return hash.digest();
}
