// sha256 of a whole BlockSource, read sequentially in bounded chunks.

import { createHash } from 'node:crypto';
import type { BlockSource } from '../image/block-source.js';

const READ_BYTES = 4 * 1024 * 1024;

/** Hashes the exact `sizeBytes` bytes of `source`. Memory: one 4 MiB buffer. */
export async function hashSource(source: BlockSource): Promise<Buffer> {
  const hash = createHash('sha256');
  for (let at = 0; at < source.sizeBytes; at += READ_BYTES) {
    hash.update(await source.read(at, Math.min(READ_BYTES, source.sizeBytes - at)));
  }
  return hash.digest();
}
