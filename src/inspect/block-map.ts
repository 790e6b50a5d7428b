// BlockMap: what a package does to each block of the target image (unchanged, moved, diffed,
// replaced, zero, DONT_CARE), downsampled to a bounded number of cells for drawing.
// Pure: a manifest partition in, counts out; no I/O. Drawing lives in report/block-map-svg.ts.

import type { Extent } from '../model/extent.js';
import { isUnchanged, type PartitionUpdate } from '../model/manifest.js';
import { assertNever } from '../model/operation.js';

/** Block kinds, in legend order. */
export const BLOCK_KINDS = ['unchanged', 'copied', 'diffed', 'replaced', 'zero', 'dontCare'] as const;
/** What happens to one target block. `unchanged`: COPY from the same offset; `copied`: COPY from elsewhere (moved data). */
export type BlockKind = (typeof BLOCK_KINDS)[number];

/** Most cells a map has (one SVG rect at most per cell). */
export const MAX_BLOCK_MAP_CELLS = 4096;

/** One cell: a run of target blocks and how many of them are of each kind. */
export interface BlockMapCell {
  readonly startBlock: number;
  readonly blockCount: number;
  readonly counts: Readonly<Record<BlockKind, number>>;
  /** The kind covering most of the cell's blocks (ties: replaced, diffed, copied, zero, unchanged, dontCare). */
  readonly kind: BlockKind;
}

/** A downsampled map of the target image. */
export interface BlockMap {
  readonly blockSizeBytes: number;
  readonly blockCount: number;
  readonly blocksPerCell: number;
  readonly cells: readonly BlockMapCell[];
  /** Blocks of each kind over the whole image. */
  readonly totals: Readonly<Record<BlockKind, number>>;
}

const TIE_ORDER: readonly BlockKind[] = ['replaced', 'diffed', 'copied', 'zero', 'unchanged', 'dontCare'];

/** Pairs a COPY's dst and src extents block by block into runs with one constant offset. */
export function copyRuns(
  dst: readonly Extent[],
  src: readonly Extent[],
): { dstStart: number; srcStart: number; count: number }[] {
  const runs: { dstStart: number; srcStart: number; count: number }[] = [];
  let di = 0;
  let si = 0;
  let dOff = 0;
  let sOff = 0;
  while (di < dst.length && si < src.length) {
    const d = dst[di]!;
    const s = src[si]!;
    const count = Math.min(d.blockCount - dOff, s.blockCount - sOff);
    if (count > 0) runs.push({ dstStart: d.startBlock + dOff, srcStart: s.startBlock + sOff, count });
    dOff += count;
    sOff += count;
    if (dOff >= d.blockCount) [di, dOff] = [di + 1, 0];
    if (sOff >= s.blockCount) [si, sOff] = [si + 1, 0];
  }
  return runs;
}

/** Maps a partition's target blocks into at most `maxCells` cells. */
export function blockMapOf(part: PartitionUpdate, blockSizeBytes: number, maxCells = MAX_BLOCK_MAP_CELLS): BlockMap {
  const blockCount = Math.ceil(part.target.sizeBytes / blockSizeBytes);
  const blocksPerCell = Math.max(1, Math.ceil(blockCount / Math.max(1, maxCells)));
  const cellCount = Math.ceil(blockCount / blocksPerCell);
  const counts = Object.fromEntries(BLOCK_KINDS.map((k) => [k, new Float64Array(cellCount)])) as Record<
    BlockKind,
    Float64Array
  >;
  const totals = Object.fromEntries(BLOCK_KINDS.map((k) => [k, 0])) as Record<BlockKind, number>;
  const add = (kind: BlockKind, start: number, count: number) => {
    const end = Math.min(blockCount, start + count);
    for (let at = Math.max(0, start); at < end;) {
      const cell = Math.floor(at / blocksPerCell);
      const cellEnd = Math.min(end, (cell + 1) * blocksPerCell);
      counts[kind][cell]! += cellEnd - at;
      totals[kind] += cellEnd - at;
      at = cellEnd;
    }
  };
  const dontCare = [...part.target.dontCare].sort((a, b) => a.startBlock - b.startBlock);
  for (const e of dontCare) add('dontCare', e.startBlock, e.blockCount);
  if (isUnchanged(part)) {
    // Listed without ops (a release package): every block the device has stays as it is.
    let at = 0;
    for (const e of dontCare) {
      add('unchanged', at, e.startBlock - at);
      at = e.startBlock + e.blockCount;
    }
    add('unchanged', at, blockCount - at);
  }
  for (const op of part.operations) {
    switch (op.type) {
      case 'zero':
        for (const e of op.dst) add('zero', e.startBlock, e.blockCount);
        break;
      case 'copy':
        for (const r of copyRuns(op.dst, op.src))
          add(r.dstStart === r.srcStart ? 'unchanged' : 'copied', r.dstStart, r.count);
        break;
      case 'diff':
        for (const e of op.dst) add('diffed', e.startBlock, e.blockCount);
        break;
      case 'replace':
        for (const e of op.dst) add('replaced', e.startBlock, e.blockCount);
        break;
      case 'stash':
      case 'free':
        break; // in-place bookkeeping: writes no block
      default:
        assertNever(op);
    }
  }
  const cells: BlockMapCell[] = [];
  for (let i = 0; i < cellCount; i++) {
    const c = Object.fromEntries(BLOCK_KINDS.map((k) => [k, counts[k][i]!])) as Record<BlockKind, number>;
    const kind = TIE_ORDER.reduce((best, k) => (c[k] > c[best] ? k : best), TIE_ORDER[0]!);
    const startBlock = i * blocksPerCell;
    cells.push({ startBlock, blockCount: Math.min(blocksPerCell, blockCount - startBlock), counts: c, kind });
  }
  return { blockSizeBytes, blockCount, blocksPerCell, cells, totals };
}
