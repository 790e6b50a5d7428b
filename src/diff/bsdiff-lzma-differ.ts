// The bsdiff-lzma differ: bsdiff's covers, found faster and coded smaller. The covers come from
// bsdiff's scan over a hash index of the source (bsdiff-matcher.ts: ~6x faster than bsdiff's
// suffix sort, within 1 % of its patch size on the bench pairs). The diff block is mostly zero
// bytes with a changed pointer here and there; written sparse (sparse-diff.ts) and LZMA2-coded it
// is 8-12 % smaller than bzip2 of the dense block on firmware binaries, at bzip2's speed. Control
// and extra blocks are LZMA2 too. Not an Android format: our patcher (bsdiff-lzma-patcher.ts) reads it.

import { encodeRawLzma2, LZMA2_MIN_DICT_LOG, type Lzma2Tuning } from '../codecs/raw-lzma2.js';
import { CTRL_TUPLE_BYTES, writeOfft, type BsdiffStreams } from './bsdiff-patch.js';
import { BSDIFF_LZMA_DIFFER } from './bsdiff-lzma-descriptor.js';
import {
  maxBlockDictLog,
  maxDecodedBlockBytes,
  STORED_BLOCK,
  writeBsdiffLzma,
  type BsdiffLzmaBlock,
} from './bsdiff-lzma-patch.js';
import type { Differ } from './differ.js';
import { matchBsdiffShared, pairMemo, sparseDiffShared, type PairResults } from './pair-memo.js';

/**
 * LZMA2 literal/position bits per block, measured on the bench pairs' binaries: control tuples
 * are 8-byte little-endian numbers (position bits 3: ~9 % smaller than 0); the sparse diff
 * alternates gap and value bytes (lc 2, no position bits: ~1.5 % smaller than lc 3 / pb 2);
 * extra is plain new data (xz's defaults).
 */
const CONTROL_TUNING: Lzma2Tuning = { lc: 0, lp: 3, pb: 3 };
const SPARSE_TUNING: Lzma2Tuning = { lc: 2, lp: 0, pb: 0 };
const EXTRA_TUNING: Lzma2Tuning = { lc: 3, lp: 0, pb: 2 };
/**
 * A quick extra block's dictionary is at most 4 MiB: a whole expanded target of up to 16 MiB
 * (deflate-aware without a source) coded ~2.5 % larger than with all of it, for 12 MiB less
 * decoder memory on the device.
 */
const QUICK_EXTRA_MAX_DICT_LOG = 22;
/** The tunings of the control, sparse diff and extra blocks, in patch order. */
export const BLOCK_TUNINGS: readonly Lzma2Tuning[] = [CONTROL_TUNING, SPARSE_TUNING, EXTRA_TUNING];

/** bsdiff-lzma (wire id 4). */
export class BsdiffLzmaDiffer implements Differ {
  readonly name = BSDIFF_LZMA_DIFFER.name;
  readonly wireId = BSDIFF_LZMA_DIFFER.wireId;
  readonly decoderMemoryBytes = BSDIFF_LZMA_DIFFER.decoderMemoryBytes;
  /** Fast, and the smallest on most chunks: tried first, and stands in for the suffix sorts. */
  readonly traits = { tier: 'lead', slowOnZeroRuns: false } as const;

  /**
   * `quickExtra`: the extra block is coded in LZMA2's fast mode (Lzma2Tuning.quick), for inner
   * patches whose extra block is a whole expanded target (deflate-aware without a source).
   */
  constructor(private readonly quickExtra = false) {}

  /**
   * Scans for covers (matchBsdiff), makes the diff block sparse and compresses each block with
   * LZMA2 (a dictionary no larger than the block or the target), storing a block whose LZMA2
   * form is not smaller. Should the blocks pass maxDecodedBlockBytes (thousands of tiny covers),
   * the patch is the target as one extra block instead. Deterministic. Memory: the matcher's
   * (index ≤ 12 x source + 64 MiB, blocks), the sparse diff (≤ 2 x target) and one LZMA2 encoder
   * (about 10 x its dictionary, ≤ 10 x target). A pair with the same bytes as one just diffed on
   * this thread (a content-aware differ that found nothing to transform) reuses that patch
   * (pair-memo.ts).
   */
  async diff(source: Uint8Array, target: Uint8Array): Promise<Buffer> {
    // The memo holds normal-mode patches only.
    const results = this.quickExtra ? undefined : pairMemo.resultsOf(source, target);
    if (!results) return this.compute(source, target);
    results.bsdiffLzma ??= this.compute(source, target, results);
    return Buffer.from(await results.bsdiffLzma);
  }

  private async compute(source: Uint8Array, target: Uint8Array, results?: PairResults): Promise<Buffer> {
    // Without a source there is nothing to match: the target is all extra (as below).
    const streams =
      source.length > 0
        ? matchBsdiffShared(source, target, results)
        : { ctrl: Buffer.alloc(0), diff: Buffer.alloc(0), extra: Buffer.alloc(0) };
    let { ctrl, extra } = streams;
    let sparse = sparseDiffShared(streams, results);
    if (source.length === 0 || ctrl.length + sparse.length + extra.length > maxDecodedBlockBytes(target.length)) {
      ctrl = Buffer.alloc(CTRL_TUPLE_BYTES);
      writeOfft(ctrl, 8, target.length);
      sparse = Buffer.alloc(0);
      extra = Buffer.from(target);
    }
    const n = target.length;
    // The scan's own blocks (not the fallback's, nor those of a pair with no source) are shared
    // with differs that keep them (pair-memo.ts).
    const shared = results !== undefined && results.streams === streams && ctrl === streams.ctrl;
    const blocks = [
      await (shared ? packedCtrl(results, streams, n) : packBlock(ctrl, CONTROL_TUNING, n)),
      await (shared ? packedSparse(results, streams, n) : packBlock(sparse, SPARSE_TUNING, n)),
      this.quickExtra
        ? await packBlock(extra, { ...EXTRA_TUNING, quick: true }, n, QUICK_EXTRA_MAX_DICT_LOG)
        : await (shared ? packedExtra(results, streams, n) : packBlock(extra, EXTRA_TUNING, n)),
    ] as const;
    return writeBsdiffLzma(blocks, n);
  }
}

/** `streams.ctrl` packed as bsdiff-lzma packs it, once per remembered pair (`results`). */
export function packedCtrl(
  results: PairResults,
  streams: BsdiffStreams,
  newSizeBytes: number,
): Promise<BsdiffLzmaBlock> {
  return (results.packedCtrl ??= packBlock(streams.ctrl, CONTROL_TUNING, newSizeBytes));
}

/** The sparse form of `streams.diff` packed as bsdiff-lzma packs it, once per remembered pair (`results`). */
export function packedSparse(
  results: PairResults,
  streams: BsdiffStreams,
  newSizeBytes: number,
): Promise<BsdiffLzmaBlock> {
  return (results.packedSparse ??= packBlock(sparseDiffShared(streams, results), SPARSE_TUNING, newSizeBytes));
}

/** `streams.extra` packed as bsdiff-lzma packs it, once per remembered pair (`results`). */
export function packedExtra(
  results: PairResults,
  streams: BsdiffStreams,
  newSizeBytes: number,
): Promise<BsdiffLzmaBlock> {
  return (results.packedExtra ??= packBlock(streams.extra, EXTRA_TUNING, newSizeBytes));
}

/** LZMA2 when that is smaller, else the block as is; the dictionary at most 2^maxDictLog. */
export async function packBlock(
  data: Uint8Array,
  tuning: Lzma2Tuning,
  newSizeBytes: number,
  maxDictLog = Infinity,
): Promise<BsdiffLzmaBlock> {
  if (data.length > 0) {
    const dictLog = Math.max(LZMA2_MIN_DICT_LOG, Math.min(maxDictLog, maxBlockDictLog(data.length, newSizeBytes)));
    const lzma = await encodeRawLzma2(data, tuning, dictLog);
    if (lzma.length < data.length) return { dictLog, decodedBytes: data.length, bytes: lzma };
  }
  return { dictLog: STORED_BLOCK, decodedBytes: data.length, bytes: data };
}
