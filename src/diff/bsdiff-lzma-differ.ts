// The bsdiff-lzma differ: bsdiff's covers, found faster and coded smaller. The covers come from
// bsdiff's scan over a hash index of the source (bsdiff-matcher.ts: ~6x faster than bsdiff's
// suffix sort, within 1 % of its patch size on the bench pairs). The diff block is mostly zero
// bytes with a changed pointer here and there; written sparse (sparse-diff.ts) and LZMA2-coded it
// is 8-12 % smaller than bzip2 of the dense block on firmware binaries, at bzip2's speed. Control
// and extra blocks are LZMA2 too. Not an Android format: our applier (bsdiff-lzma-patch.ts) reads it.

import { assertExpectedSize } from '../codecs/codec-errors.js';
import { encodeRawLzma2, lzma2DictLogFor, rawLzma2DecoderBytes, type Lzma2Tuning } from '../codecs/raw-lzma2.js';
import { applyBsdiffLzmaPatch, STORED_BLOCK, writeBsdiffLzma, type BsdiffLzmaBlock } from './bsdiff-lzma-patch.js';
import { matchBsdiff } from './bsdiff-matcher.js';
import { DifferWireId, type Differ } from './differ.js';
import { encodeSparseDiff, maxSparseBytes } from './sparse-diff.js';

/**
 * LZMA2 literal/position bits per block, measured on the bench pairs' binaries: control tuples
 * are 8-byte little-endian numbers (position bits 3: ~9 % smaller than 0); the sparse diff
 * alternates gap and value bytes (lc 2, no position bits: ~1.5 % smaller than lc 3 / pb 2);
 * extra is plain new data (xz's defaults).
 */
const CONTROL_TUNING: Lzma2Tuning = { lc: 0, lp: 3, pb: 3 };
const SPARSE_TUNING: Lzma2Tuning = { lc: 2, lp: 0, pb: 0 };
const EXTRA_TUNING: Lzma2Tuning = { lc: 3, lp: 0, pb: 2 };

/** bsdiff-lzma (wire id 4). */
export class BsdiffLzmaDiffer implements Differ {
  readonly name = 'bsdiff-lzma' as const;
  readonly wireId = DifferWireId['bsdiff-lzma'];

  /**
   * Scans for covers (matchBsdiff), makes the diff block sparse and compresses each block with
   * LZMA2, storing a block whose LZMA2 form is not smaller. Deterministic. Memory: the matcher's
   * index (≤ 8 x source + 64 MiB head table), the blocks (≤ 4 x target for the dense and sparse
   * diff and the extra), and one LZMA2 encoder (about 10 x its block, ≤ 20 x target).
   */
  async diff(source: Uint8Array, target: Uint8Array): Promise<Buffer> {
    const { ctrl, diff, extra } = matchBsdiff(source, target);
    const blocks = [
      await packBlock(ctrl, CONTROL_TUNING),
      await packBlock(encodeSparseDiff(diff), SPARSE_TUNING),
      await packBlock(extra, EXTRA_TUNING),
    ] as const;
    return writeBsdiffLzma(blocks, target.length);
  }

  /** Applies a bsdiff-lzma patch in memory into exactly `expectedSizeBytes` (see applyBsdiffLzmaPatch). */
  async patch(source: Uint8Array, patch: Uint8Array, expectedSizeBytes: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    return applyBsdiffLzmaPatch(source, patch, expectedSizeBytes);
  }

  /**
   * The old and new data, the dense diff (≤ target), and the three decoded blocks with one
   * LZMA2 decoder each: the sparse diff's dictionary is sized for ≤ 2 x target, the control's
   * and extra's for ≤ target (a control block longer than the target is rare and its
   * dictionary capped by its own length).
   */
  decoderMemoryBytes(sourceBytes: number, targetBytes: number): number {
    return sourceBytes + 2 * targetBytes + rawLzma2DecoderBytes(maxSparseBytes(targetBytes)) + 2 * rawLzma2DecoderBytes(targetBytes);
  }
}

/** LZMA2 when that is smaller, else the block as is. */
async function packBlock(data: Uint8Array, tuning: Lzma2Tuning): Promise<BsdiffLzmaBlock> {
  if (data.length > 0) {
    const lzma = await encodeRawLzma2(data, tuning);
    if (lzma.length < data.length) return { dictLog: lzma2DictLogFor(data.length), decodedBytes: data.length, bytes: lzma };
  }
  return { dictLog: STORED_BLOCK, decodedBytes: data.length, bytes: data };
}
