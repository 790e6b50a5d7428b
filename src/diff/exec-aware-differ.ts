// The exec-aware differ (Courgette-style adjust then diff): on chunks holding AArch64 or x86-64
// code (elf-code-scan.ts), finds bsdiff's covers, rewrites the source's relative references in
// each cover to reach where their targets went (reference-adjust.ts) wherever that makes the
// cover match the destination better, and recomputes the diff block against the adjusted source.
// The control block is the one the patcher derives the regions from; the only table that travels
// is the label table (format 1.5), for references whose targets no region holds, when it pays.

import { matchBsdiffShared, pairMemo, sparseDiffShared } from './pair-memo.js';
import { CTRL_TUPLE_BYTES, readOfft } from './bsdiff-patch.js';
import {
  BLOCK_TUNINGS,
  BsdiffLzmaDiffer,
  packBlock,
  packedCtrl,
  packedExtra,
  packedSparse,
} from './bsdiff-lzma-differ.js';
import { maxDecodedBlockBytes, writeBsdiffLzma } from './bsdiff-lzma-patch.js';
import type { Differ, DiffOptions } from './differ.js';
import { chunkCodeArch } from './elf-code-scan.js';
import { EXEC_AWARE_DIFFER } from './exec-aware-descriptor.js';
import { execAwarePatchBytes, hasLabelTable, writeExecAwarePatch } from './exec-aware-patch.js';
import { encodeLabelMap, NO_LABELS, type LabelMap } from './label-map.js';
import {
  adjustRegion,
  labelMapFor,
  regionsFromControl,
  type AdjustRegions,
  type ReferenceArchName,
} from './reference-adjust.js';
import { MINOR_EXEC_LABELS } from '../format/package-header.js';
import { encodeSparseDiff } from './sparse-diff.js';

/** exec-aware (wire id 6). */
export class ExecAwareDiffer implements Differ {
  readonly name = EXEC_AWARE_DIFFER.name;
  readonly wireId = EXEC_AWARE_DIFFER.wireId;
  readonly decoderMemoryBytes = EXEC_AWARE_DIFFER.decoderMemoryBytes;
  /** Tried first, beside bsdiff-lzma, on every chunk that holds code (elsewhere it does not apply). */
  readonly traits = { tier: 'lead', slowOnZeroRuns: false } as const;

  /** True when the chunk holds AArch64 or x86-64 code (chunkCodeArch). */
  applies(source: Uint8Array, target: Uint8Array): boolean {
    return chunkCodeArch(source, target) !== undefined;
  }

  /**
   * bsdiff's covers of `target` in `source`, each cover adjusted when that leaves fewer bytes
   * differing, the diff block recomputed, the blocks LZMA2-coded as bsdiff-lzma does. Deterministic.
   * Memory: the matcher's, two copies of the source (adjusted without and with a label table;
   * the one kept becomes the adjusted source), the blocks.
   */
  async diff(source: Uint8Array, target: Uint8Array, options: DiffOptions = {}): Promise<Buffer> {
    const arch = chunkCodeArch(source, target) ?? 'aarch64';
    // The pair bsdiff-lzma has just scanned for this chunk: its covers are remembered (pair-memo.ts).
    const results = pairMemo.resultsOf(source, target);
    const streams = matchBsdiffShared(source, target, results);
    const n = target.length;
    const sparseProbe = sparseDiffShared(streams, results);
    if (streams.ctrl.length + sparseProbe.length + streams.extra.length > maxDecodedBlockBytes(n))
      return writeExecAwarePatch(arch, [], await new BsdiffLzmaDiffer().diff(source, target));
    const regions = regionsFromControl(streams.ctrl, source.length);
    // Each region's differing bytes before any adjustment, counted once for both choices.
    const before = regions.oldStart.map((_, r) => mismatches(source, target, regions, r));
    const plain = chooseRegions(source, target, regions, arch, before);
    // The label table goes in when the differing bytes it spares are worth more than its bytes.
    const labels = readsLabels(options) ? labelMapFor(source, target, regions, arch) : NO_LABELS;
    const labelled = labels.start.length > 0 ? chooseRegions(source, target, regions, arch, before, labels) : undefined;
    const useLabels =
      labelled !== undefined &&
      (plain.mismatches - labelled.mismatches) * LABEL_BYTES_PER_MISMATCH > encodeLabelMap(labels).length;
    const { flags, adjustedAll } = useLabels ? labelled : plain;
    const table = useLabels ? labels : NO_LABELS;
    // What adjustSource (the patcher's) makes of the flags' runs: the copy chooseRegions adjusted
    // in every region, with the source's bytes put back in the regions not picked (each region's
    // bytes depend only on the source and the regions, and regions do not overlap).
    const adjusted = adjustedAll;
    for (let r = 0; r < flags.length; r++) {
      if (flags[r]) continue;
      const start = regions.oldStart[r] as number;
      adjusted.set(source.subarray(start, start + (regions.lengthBytes[r] as number)), start);
    }
    const diff = diffBlock(streams.ctrl, adjusted, target, streams.diff.length);
    // Only the diff block differs from bsdiff-lzma's patch of this pair: its control and extra
    // blocks are packed once (pair-memo.ts), and so is the diff block where no adjustment changed it.
    const unchanged = results !== undefined && diff.equals(streams.diff);
    const packed = await Promise.all([
      results ? packedCtrl(results, streams, n) : packBlock(streams.ctrl, BLOCK_TUNINGS[0]!, n),
      unchanged ? packedSparse(results, streams, n) : packBlock(encodeSparseDiff(diff), BLOCK_TUNINGS[1]!, n),
      results ? packedExtra(results, streams, n) : packBlock(streams.extra, BLOCK_TUNINGS[2]!, n),
    ]);
    return writeExecAwarePatch(arch, flags, writeBsdiffLzma(packed, n), table);
  }

  /** A patch with a label table needs its intervals' memory too (execAwarePatchBytes). */
  patchDecoderMemoryBytes(patch: Uint8Array, sourceBytes: number, targetBytes: number): number {
    return execAwarePatchBytes(patch, sourceBytes, targetBytes);
  }

  /** A patch with a label table needs format 1.5. */
  patchFormatMinor(patch: Uint8Array): number {
    return hasLabelTable(patch) ? MINOR_EXEC_LABELS : 0;
  }
}

/** Whether the targets read format 1.5, whose patches may carry a label table. */
function readsLabels(options: DiffOptions): boolean {
  return (options.maxFormatMinor ?? Infinity) >= MINOR_EXEC_LABELS;
}

/**
 * Compressed diff bytes one differing byte fewer spares, as the label table's worth is judged:
 * measured 0.8-0.9 on the bench's x86-64 chunks and 0.6-1.4 on AArch64 ones.
 */
const LABEL_BYTES_PER_MISMATCH = 0.75;

/**
 * Per region, whether adjusting it (with `labels`) leaves fewer bytes differing than `before`
 * (each region's count unadjusted); the bytes left differing; and the copy of the source with
 * every region adjusted (`adjustedAll`, the caller's to change).
 */
function chooseRegions(
  source: Uint8Array,
  target: Uint8Array,
  regions: AdjustRegions,
  arch: ReferenceArchName,
  before: Float64Array,
  labels?: LabelMap,
): { flags: boolean[]; mismatches: number; adjustedAll: Buffer } {
  // A memcpy: Buffer.from(Uint8Array) copies element by element (~10 ms per 4 MiB).
  const all = Buffer.allocUnsafe(source.length);
  all.set(source);
  const flags: boolean[] = [];
  let left = 0;
  for (let r = 0; r < regions.oldStart.length; r++) {
    adjustRegion(source, all, regions, r, arch, labels);
    const after = mismatches(all, target, regions, r);
    const gain = before[r]! - after;
    flags.push(gain > 0 || (gain === 0 && (flags[r - 1] ?? false)));
    left += Math.min(before[r]!, after);
  }
  return { flags, mismatches: left, adjustedAll: all };
}

/** Bytes of region `r` of `old` that differ from where they went in `target`. */
function mismatches(old: Uint8Array, target: Uint8Array, regions: AdjustRegions, r: number): number {
  const start = regions.oldStart[r] as number;
  const to = regions.newStart[r] as number;
  const length = regions.lengthBytes[r] as number;
  let count = 0;
  for (let k = 0; k < length; k++) if (old[start + k] !== target[to + k]) count++;
  return count;
}

/** The dense diff block of `ctrl` over `old` (bytes outside it read as zero, as bspatch does). */
function diffBlock(ctrl: Uint8Array, old: Uint8Array, target: Uint8Array, lengthBytes: number): Buffer {
  const diff = Buffer.alloc(lengthBytes);
  let oldPos = 0;
  let newPos = 0;
  let at = 0;
  for (let c = 0; c + CTRL_TUPLE_BYTES <= ctrl.length; c += CTRL_TUPLE_BYTES) {
    const add = readOfft(ctrl, c, 'add');
    for (let k = 0; k < add; k++) {
      const o = oldPos + k;
      diff[at++] = ((target[newPos + k] as number) - (o >= 0 && o < old.length ? (old[o] as number) : 0)) & 0xff;
    }
    newPos += add + readOfft(ctrl, c + 8, 'copy');
    oldPos += add + readOfft(ctrl, c + 16, 'seek');
  }
  return diff;
}
