// Reading and writing extent lists: gather old-image blocks into one buffer, scatter a buffer
// over destination blocks. Memory: one buffer of the extents' total size (≤ the op limits).

import type { FileHandle } from 'node:fs/promises';
import { writeFull } from './write-full.js';
import type { BlockSource } from './block-source.js';
import { totalBlocks, type Extent } from '../model/extent.js';

/** Reads the blocks of `extents` from `source`, concatenated. */
export async function readExtents(
  source: BlockSource,
  extents: readonly Extent[],
  blockSizeBytes: number,
): Promise<Buffer> {
  const out = Buffer.alloc(totalBlocks(extents) * blockSizeBytes);
  let at = 0;
  for (const e of extents) {
    const part = await source.read(e.startBlock * blockSizeBytes, e.blockCount * blockSizeBytes);
    part.copy(out, at);
    at += part.length;
  }
  return out;
}

/** Writes `data` over the blocks of `extents`, in order. */
export async function writeExtents(
  fh: FileHandle,
  path: string,
  extents: readonly Extent[],
  blockSizeBytes: number,
  data: Uint8Array,
): Promise<void> {
  let at = 0;
  for (const e of extents) {
    const length = e.blockCount * blockSizeBytes;
    await writeFull(fh, data.subarray(at, at + length), e.startBlock * blockSizeBytes, {
      action: 'write output',
      path,
    });
    at += length;
  }
}
