// BlockDigests: one pass over an image that yields a sha256 per block (one typed array), zero and
// DONT_CARE flags per block, and the sha256 of the whole expanded image (DONT_CARE read as zeros).
// Fill and DONT_CARE runs a container knows about are never read: a fill block is hashed once.
// The same pass can sample anchors and find zip members (when asked), so nothing reads the image
// twice. Memory: 34 bytes per block + two 4 MiB read buffers (ReadAhead: one is read while the other
// is hashed) + a list of the reads and known runs in order (a few times the container's own runs).

import { createHash } from 'node:crypto';
import type { BlockSource, SourceRun } from '../image/block-source.js';
import { ReadAhead } from '../image/read-ahead.js';
import { extentsOfFlags } from '../extents/extent-list.js';
import type { Extent } from '../model/extent.js';
import { ZipMemberScanner } from '../image/zip-member-scanner.js';
import { AnchorSampler, type AnchorList } from './anchor-sampler.js';
import { ImageSha256 } from './image-sha256.js';

/** Size of the sequential reads while hashing. */
export const HASH_READ_BYTES = 4 * 1024 * 1024;

/** Per-block digests of one image. */
export interface BlockDigests {
  readonly blockSizeBytes: number;
  readonly blockCount: number;
  readonly sizeBytes: number;
  /** `blockCount × 32` bytes: block i's sha256 at `i * 32`. */
  readonly digests: Buffer;
  /** 1 where the block is all zeros (DONT_CARE blocks are not zero). */
  readonly zero: Uint8Array;
  /** 1 where the container says the block's content is undefined (Android sparse DONT_CARE). */
  readonly dontCare: Uint8Array;
  /** Number of DONT_CARE blocks. */
  readonly dontCareCount: number;
  /** The image sha256 (image-sha256.ts): the exact `sizeBytes` expanded bytes, DONT_CARE as zeros. */
  readonly imageSha256: Buffer;
  /** Content-defined anchors (when asked for), to find data that moved. */
  readonly anchors?: AnchorList;
  /** The zip members of 2 .. `zipSpanMaxBlocks` blocks (when asked for; ZipMemberScanner). */
  readonly zipMemberSpans?: readonly Extent[];
}

/** What hashBlocks does besides hashing. */
export interface HashOptions {
  readonly onProgress?: HashProgress;
  /** Sample content-defined anchors (the old image, and the new one of a delta). */
  readonly withAnchors?: boolean;
  /** Find the zip members of up to this many blocks (a planner that keeps them whole). */
  readonly zipSpanMaxBlocks?: number;
}

/** Progress callback: bytes hashed so far. */
export type HashProgress = (doneBytes: number, totalBytes: number) => void;

/** The known run that covers block `[start, end)` completely, if any (runs sorted by offset). */
function runCovering(
  runs: readonly SourceRun[],
  from: { index: number },
  start: number,
  end: number,
): SourceRun | undefined {
  while (from.index < runs.length && runs[from.index]!.offsetBytes + runs[from.index]!.sizeBytes <= start) from.index++;
  const run = runs[from.index];
  return run && run.offsetBytes <= start && run.offsetBytes + run.sizeBytes >= end ? run : undefined;
}

/** Blocks `[first, first + count)`: all covered by `run` (not read), or read in one piece. */
interface Segment {
  readonly first: number;
  readonly count: number;
  readonly run?: SourceRun;
}

/** The image in order: runs of blocks a known run covers, and reads of at most HASH_READ_BYTES between them. */
function segmentsOf(source: BlockSource, blockSizeBytes: number, blockCount: number): Segment[] {
  const runs = source.knownRuns();
  const cursor = { index: 0 };
  const readBlocks = Math.max(1, Math.floor(HASH_READ_BYTES / blockSizeBytes));
  const out: Segment[] = [];
  for (let first = 0; first < blockCount;) {
    const start = first * blockSizeBytes;
    const run = runCovering(runs, cursor, start, start + blockSizeBytes);
    if (run) {
      const runEndBlock = Math.min(blockCount, Math.floor((run.offsetBytes + run.sizeBytes) / blockSizeBytes));
      const end = Math.max(runEndBlock, first + 1);
      out.push({ first, count: end - first, run });
      first = end;
      continue;
    }
    let count = 1;
    while (count < readBlocks && first + count < blockCount) {
      const s = (first + count) * blockSizeBytes;
      if (runCovering(runs, { index: cursor.index }, s, s + blockSizeBytes)) break;
      count++;
    }
    out.push({ first, count });
    first += count;
  }
  return out;
}

/** Hashes every block of `source` in one sequential pass, sampling anchors and finding zip members as asked. */
export async function hashBlocks(
  source: BlockSource,
  blockSizeBytes: number,
  options: HashOptions = {},
): Promise<BlockDigests> {
  const { onProgress, zipSpanMaxBlocks } = options;
  const sampler = options.withAnchors ? new AnchorSampler() : undefined;
  const zips =
    zipSpanMaxBlocks === undefined
      ? undefined
      : new ZipMemberScanner(source.sizeBytes, blockSizeBytes, zipSpanMaxBlocks);
  const blockCount = Math.ceil(source.sizeBytes / blockSizeBytes);
  const digests = Buffer.alloc(blockCount * 32);
  const zero = new Uint8Array(blockCount);
  const dontCare = new Uint8Array(blockCount);
  let dontCareCount = 0;
  const whole = new ImageSha256(source.sizeBytes, blockSizeBytes); // DONT_CARE blocks arrive as zeros
  const zeroBlock = Buffer.alloc(blockSizeBytes);
  const zeroDigest = createHash('sha256').update(zeroBlock).digest();
  const fillBlocks = new Map<number, { block: Buffer; digest: Buffer }>();
  const segments = segmentsOf(source, blockSizeBytes, blockCount);
  const reads = new ReadAhead(
    source,
    segments
      .filter((s) => !s.run)
      .map((s) => ({ offsetBytes: s.first * blockSizeBytes, sizeBytes: s.count * blockSizeBytes })),
  );

  for (const { first, count, run } of segments) {
    const start = first * blockSizeBytes;
    if (run) {
      // Blocks covered by a known run are handled without reading.
      const isZero = run.kind === 'dont-care' || run.fillValue === 0;
      let known = fillBlocks.get(run.kind === 'fill' ? run.fillValue : -1);
      if (!known) {
        const block = run.kind === 'fill' ? Buffer.alloc(blockSizeBytes) : zeroBlock;
        if (run.kind === 'fill') for (let at = 0; at < blockSizeBytes; at += 4) block.writeUInt32LE(run.fillValue, at);
        known = { block, digest: isZero ? zeroDigest : createHash('sha256').update(block).digest() };
        fillBlocks.set(run.kind === 'fill' ? run.fillValue : -1, known);
      }
      for (let i = first; i < first + count; i++) {
        known.digest.copy(digests, i * 32);
        whole.update(known.block); // the last block's padding is past sizeBytes: ignored
        if (run.kind === 'dont-care') {
          dontCare[i] = 1;
          dontCareCount++;
        } else if (isZero) zero[i] = 1;
      }
      sampler?.feed(start, zeroBlock.subarray(0, 0), true);
      continue;
    }
    const buf = await reads.next();
    whole.update(buf);
    zips?.feed(start, buf.subarray(0, Math.max(0, Math.min(buf.length, source.sizeBytes - start))));
    for (let k = 0; k < count; k++) {
      const block = buf.subarray(k * blockSizeBytes, (k + 1) * blockSizeBytes);
      if (block.equals(zeroBlock)) {
        zero[first + k] = 1;
        zeroDigest.copy(digests, (first + k) * 32);
        sampler?.feed(start + k * blockSizeBytes, block, true);
      } else {
        createHash('sha256')
          .update(block)
          .digest()
          .copy(digests, (first + k) * 32);
        sampler?.feed(start + k * blockSizeBytes, block);
      }
    }
    onProgress?.(Math.min((first + count) * blockSizeBytes, source.sizeBytes), source.sizeBytes);
  }
  onProgress?.(source.sizeBytes, source.sizeBytes);
  return {
    blockSizeBytes,
    blockCount,
    sizeBytes: source.sizeBytes,
    digests,
    zero,
    dontCare,
    dontCareCount,
    imageSha256: whole.digest(),
    ...(sampler ? { anchors: sampler.finish() } : {}),
    ...(zips ? { zipMemberSpans: zips.spans() } : {}),
  };
}

/** True when block `i` of `a` and block `j` of `b` have the same digest. */
export function sameBlock(a: BlockDigests, i: number, b: BlockDigests, j: number): boolean {
  return a.digests.compare(b.digests, j * 32, j * 32 + 32, i * 32, i * 32 + 32) === 0;
}

/** DONT_CARE blocks as extents (for the manifest). */
export function dontCareExtents(d: BlockDigests): Extent[] {
  return extentsOfFlags(d.dontCare);
}
