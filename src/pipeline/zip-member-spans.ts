// Where the zip members of an image lie (local file header through the end of its deflate data),
// so the planner can keep a member in one op for a differ that needs whole deflate streams
// (traits.keepWhole). Reads the image once in bounded pieces; only members whose local header
// states their compressed size (no data descriptor) are found. Memory: one piece.

import type { BlockSource } from '../image/block-source.js';
import type { Extent } from '../model/extent.js';

const PIECE_BYTES = 4 * 1024 * 1024;
/** A zip local file header's signature, PK\3\4. */
const LOCAL_HEADER = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/** A local header and a name fit in this overlap between pieces. */
const OVERLAP_BYTES = 64 * 1024;

/**
 * Block extents of the deflate zip members of `source` that span 2 .. `maxSpanBlocks` blocks, in
 * order, disjoint (the search resumes after each member).
 */
export async function zipMemberSpans(
  source: BlockSource,
  blockSizeBytes: number,
  maxSpanBlocks: number,
): Promise<Extent[]> {
  const spans: Extent[] = [];
  let resumeAt = 0;
  for (let base = 0; base < source.sizeBytes; base += PIECE_BYTES) {
    const piece = await source.read(base, Math.min(PIECE_BYTES + OVERLAP_BYTES, source.sizeBytes - base));
    const limit = Math.min(piece.length, PIECE_BYTES);
    for (let i = Math.max(0, resumeAt - base); i < limit; i++) {
      i = piece.indexOf(LOCAL_HEADER, i);
      if (i < 0 || i >= limit) break;
      if (i + 30 > piece.length) continue;
      const flags = piece.readUInt16LE(i + 6);
      const compressedBytes = piece.readUInt32LE(i + 18);
      if (piece.readUInt16LE(i + 8) !== 8 || (flags & 9) !== 0 || compressedBytes === 0) continue;
      const start = base + i;
      const end = start + 30 + piece.readUInt16LE(i + 26) + piece.readUInt16LE(i + 28) + compressedBytes;
      if (end > source.sizeBytes) continue;
      const startBlock = Math.floor(start / blockSizeBytes);
      const blockCount = Math.ceil(end / blockSizeBytes) - startBlock;
      if (blockCount >= 2 && blockCount <= maxSpanBlocks) spans.push({ startBlock, blockCount });
      resumeAt = end;
      if (end - base >= limit) break;
      i = end - base - 1;
    }
  }
  return spans;
}
