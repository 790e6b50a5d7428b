// Reading and writing extent lists: gather old-image blocks (or blocks an output holds) into one
// buffer, scatter a buffer over destination blocks. Memory: one buffer of the extents' total size
// (≤ the op limits).

import type { FileHandle } from 'node:fs/promises';
import { readUpTo, type ReadPurpose } from './read-full.js';
import { writeFull } from './write-full.js';
import type { BlockSource } from './block-source.js';
import { totalBlocks, type Extent } from '../model/extent.js';

/**
 * Reads `into.length` bytes at `offsetBytes` of `source` into `into`: straight into it when the
 * source can (BlockSource.readInto), else through `read` and a copy.
 */
export async function readSourceInto(source: BlockSource, offsetBytes: number, into: Buffer): Promise<void> {
  if (source.readInto) await source.readInto(offsetBytes, into);
  else into.set(await source.read(offsetBytes, into.length));
}

/**
 * Reads the blocks of `extents` from `source`, concatenated, into one new buffer of exactly their
 * size that owns its whole memory (so a worker pool can move it to another thread without a copy),
 * each extent read straight into its place when the source can: no second buffer, no copy.
 */
export async function readExtents(
  source: BlockSource,
  extents: readonly Extent[],
  blockSizeBytes: number,
): Promise<Buffer> {
  // Every byte is overwritten by the reads.
  const out = Buffer.allocUnsafeSlow(totalBlocks(extents) * blockSizeBytes);
  await readExtentsAt(source, extents, blockSizeBytes, out);
  return out;
}

/**
 * One buffer reused for successive reads (grown to the largest asked for, never shrunk): a loop
 * that reads an op's blocks, uses them and drops them before the next op pays the page faults of
 * a fresh buffer once instead of per op. A buffer it hands out is valid until the next `take`.
 */
export class ScratchBuffer {
  private buffer = Buffer.alloc(0);

  /** A view of `bytes` bytes (contents undefined) that the next `take` reuses. */
  take(bytes: number): Buffer {
    if (this.buffer.length < bytes) this.buffer = Buffer.allocUnsafeSlow(grownSizeBytes(bytes));
    return this.buffer.subarray(0, bytes);
  }
}

/** Growth step of reused buffers (grownSizeBytes). */
const GROWTH_BYTES = 1024 * 1024;

/**
 * The size to give a reused buffer that must now hold `neededBytes`: rounded up to a whole MiB,
 * so one that sizes after sizes grows by a few KiB is not reallocated each time (a new buffer
 * page-faults on first touch: about 3 ms a MiB on the bench machine). At most a MiB unused.
 */
export function grownSizeBytes(neededBytes: number): number {
  return neededBytes <= 0 ? 0 : Math.ceil(neededBytes / GROWTH_BYTES) * GROWTH_BYTES;
}

/** Reads the blocks of `extents` from `source`, concatenated, into `scratch` (see ScratchBuffer). */
export async function readExtentsInto(
  source: BlockSource,
  extents: readonly Extent[],
  blockSizeBytes: number,
  scratch: ScratchBuffer,
): Promise<Buffer> {
  const out = scratch.take(totalBlocks(extents) * blockSizeBytes);
  await readExtentsAt(source, extents, blockSizeBytes, out);
  return out;
}

/** Reads the blocks of `extents` from `source`, concatenated, into `into` (their total size). */
export async function readExtentsAt(
  source: BlockSource,
  extents: readonly Extent[],
  blockSizeBytes: number,
  into: Buffer,
): Promise<void> {
  for (const [offsetBytes, part] of extentSlices(extents, blockSizeBytes, into))
    await readSourceInto(source, offsetBytes, part);
}

/**
 * Reads the blocks of `extents` of the file behind `fh`, concatenated, into `into` (their total
 * size); bytes at or past `endBytes`, or past the file's end, read as zeros.
 */
export async function readFileExtentsInto(
  fh: FileHandle,
  extents: readonly Extent[],
  blockSizeBytes: number,
  into: Buffer,
  endBytes: number,
  purpose: ReadPurpose,
): Promise<void> {
  for (const [offsetBytes, part] of extentSlices(extents, blockSizeBytes, into)) {
    const inside = Math.max(0, Math.min(part.length, endBytes - offsetBytes));
    part.fill(0, await readUpTo(fh, part.subarray(0, inside), offsetBytes, purpose));
  }
}

/** Writes `data` over the blocks of `extents`, in order. */
export async function writeExtents(
  fh: FileHandle,
  path: string,
  extents: readonly Extent[],
  blockSizeBytes: number,
  data: Uint8Array,
): Promise<void> {
  for (const [offsetBytes, part] of extentSlices(extents, blockSizeBytes, data))
    await writeFull(fh, part, offsetBytes, { action: 'write output', path });
}

/** Each extent's byte offset in the image and its slice of `data` (the extents' blocks, concatenated). */
function* extentSlices<T extends Uint8Array>(
  extents: readonly Extent[],
  blockSizeBytes: number,
  data: T,
): Generator<[offsetBytes: number, slice: T]> {
  let at = 0;
  for (const e of extents) {
    const length = e.blockCount * blockSizeBytes;
    yield [e.startBlock * blockSizeBytes, data.subarray(at, at + length) as T];
    at += length;
  }
}
