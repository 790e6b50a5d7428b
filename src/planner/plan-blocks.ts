// The block planner: classifies every new block (zero, found in the old image, changed), merges
// runs into items capped by the op size, and picks old regions to diff each changed chunk against.
// Pure: digests in, items out; no I/O, no policy about codecs.

import { sameBlock, type BlockDigests } from '../hashing/block-digests.js';
import type { AnchorIndex } from '../hashing/anchor-index.js';
import type { DigestIndex } from '../hashing/digest-index.js';
import { mergeExtents, withoutFlagged } from '../extents/extent-list.js';
import type { Extent } from '../model/extent.js';
import type { PlanItem } from './plan-items.js';

/** Smallest diff window around a changed chunk, in blocks (256 KiB at 4 KiB blocks). */
export const MIN_WINDOW_BLOCKS = 64;

/** Planner limits, in blocks. */
export interface PlanOptions {
  /** Largest run any item covers (the targets' maxOperationBytes, at most 4 MiB, / blockSize). */
  readonly maxRunBlocks: number;
  /** Largest changed chunk handed to the encoders. */
  readonly chunkBlocks: number;
  /** Largest total source a changed chunk may diff against (≤ 4 × maxRunBlocks). */
  readonly maxSourceBlocks: number;
  /**
   * Whether runs of found blocks between changed ones may join a chunk. Only when every target
   * can DIFF: a target that must REPLACE the chunk would store the joined blocks as data.
   */
  readonly joinFoundRuns: boolean;
  /**
   * Runs a differ needs whole in one op (zip members, for the deflate-aware differ), sorted. A
   * run of at most maxRunBlocks with any changed block is planned changed as a whole (its found
   * blocks too), and a chunk grows to its end or stops before its start rather than cut it.
   */
  readonly keepWhole?: readonly Extent[];
  /**
   * Largest chunk (before it grows to keep a run whole) that holds a changed keepWhole run: the
   * differ that needs the runs whole declares what it handles well (DifferTraits.wholeChunkBytes).
   * Its source budget stays maxSourceBlocks. Absent: chunkBlocks.
   */
  readonly wholeChunkBlocks?: number;
}

/** The old image as the planner sees it. */
export interface OldImageView {
  readonly digests: BlockDigests;
  readonly index: DigestIndex;
  /** Old-image anchors; with the new image's anchors they locate moved data. */
  readonly anchors?: AnchorIndex;
}

/** Most anchor-voted displacements tried per changed chunk. */
const ANCHOR_CANDIDATES = 2;

/**
 * Plans the new image. Without `old` every non-zero block is changed (a full package).
 * Copy preference: continue the current copy run, then the same offset, then any match.
 * New DONT_CARE blocks get no item (nothing to write); old DONT_CARE blocks are never a source.
 */
export function planBlocks(next: BlockDigests, old: OldImageView | undefined, options: PlanOptions): PlanItem[] {
  const items: PlanItem[] = [];
  const maxRun = Math.max(1, options.maxRunBlocks);
  const chunk = Math.max(1, Math.min(options.chunkBlocks, maxRun));
  const wholeChunk = Math.max(1, Math.min(options.wholeChunkBlocks ?? chunk, chunk));
  const whole = old ? changedWholeRuns(next, old, options.keepWhole ?? [], maxRun) : undefined;
  const isForced = (k: number) => whole !== undefined && whole.endOf[k]! > 0;
  const changedAt = (k: number) => isForced(k) || isChanged(next, k, old) === true;
  let i = 0;
  // Offset (src − dst) of the latest copy run: where shifted data most likely continues.
  let lastDelta = 0;
  while (i < next.blockCount) {
    if (next.dontCare[i]) {
      i++;
      continue;
    }
    const forced = isForced(i);
    if (next.zero[i] && !forced) {
      const start = i;
      while (i < next.blockCount && next.zero[i] && !isForced(i) && i - start < maxRun) i++;
      items.push({ kind: 'zero', dst: { startBlock: start, blockCount: i - start } });
      continue;
    }
    const src = old && !forced ? findSource(next, i, old) : -1;
    if (src >= 0) {
      const start = i;
      let s = src;
      do {
        i++;
        s++;
      } while (
        i < next.blockCount &&
        !next.zero[i] &&
        !next.dontCare[i] &&
        i - start < maxRun &&
        !isForced(i) &&
        foundAt(next, i, old!, s)
      );
      items.push({
        kind: 'copy',
        dst: { startBlock: start, blockCount: i - start },
        src: { startBlock: src, blockCount: i - start },
      });
      lastDelta = src - start;
      continue;
    }
    const start = i;
    const holdsWhole = whole !== undefined && holdsWholeRun(whole, start, chunk);
    const end = whole === undefined ? start + chunk : chunkEnd(whole, start, holdsWhole ? wholeChunk : chunk, maxRun);
    // Displacements (old − new) of the found runs this chunk absorbed; their windows are kept.
    const joinedDeltas: number[] = [];
    do {
      i++;
      // A run of found blocks between two changed ones joins the chunk when it lies at one
      // displacement in the old image: one DIFF op costs less than a COPY plus a second DIFF op
      // (each op carries extents and two sha256s), and with that displacement's window among the
      // chunk's sources the found blocks cost the differ next to nothing. On an ext4 update whose
      // small edited files shifted their neighbours (patch-64 in the bench), joining runs up to a
      // whole chunk instead of 16 blocks made the package 2.5 % smaller and the build no slower.
      if (
        old &&
        options.joinFoundRuns &&
        i < next.blockCount &&
        i < end &&
        !changedAt(i) &&
        isChanged(next, i, old) === false
      ) {
        const gap = joinableGap(next, i, old, end, joinedDeltas);
        if (gap) {
          i = gap.end;
          if (gap.delta !== undefined && !joinedDeltas.includes(gap.delta)) joinedDeltas.push(gap.delta);
        }
      }
    } while (i < next.blockCount && i < end && changedAt(i));
    const dst = { startBlock: start, blockCount: i - start };
    // A chunk grown to keep a run whole may read up to twice its size (at most 4 × maxRun).
    const sourceBlocks = Math.max(options.maxSourceBlocks, Math.min(2 * dst.blockCount, 4 * maxRun));
    const windows = old
      ? diffSources(dst, sourceDeltas(next, old, dst, lastDelta, joinedDeltas), old.digests.blockCount, sourceBlocks)
      : [];
    items.push({
      kind: 'changed',
      dst,
      sources: old && old.digests.dontCareCount > 0 ? withoutFlagged(windows, old.digests.dontCare) : windows,
      ...(whole !== undefined && holdsWholeRun(whole, dst.startBlock, dst.blockCount) ? { holdsWholeRuns: true } : {}),
    });
    // A joined run is a copy run too: shifted data most likely continues at its displacement.
    if (joinedDeltas.length > 0) lastDelta = joinedDeltas[joinedDeltas.length - 1]!;
  }
  return items;
}

/**
 * The keepWhole runs holding a changed block that are longer than `maxRunBlocks`: a plan with
 * that op limit cuts them (planBlocks keeps only shorter ones whole). Their count, their blocks
 * and the shortest one's (0 when none).
 */
export function changedRunsLongerThan(
  next: BlockDigests,
  old: OldImageView,
  runs: readonly Extent[],
  maxRunBlocks: number,
): { count: number; blockCount: number; shortestBlockCount: number } {
  let count = 0;
  let blockCount = 0;
  let shortestBlockCount = 0;
  for (const r of runs) {
    const end = Math.min(next.blockCount, r.startBlock + r.blockCount);
    const length = end - r.startBlock;
    if (length <= maxRunBlocks) continue;
    for (let k = r.startBlock; k < end; k++) {
      if (isChanged(next, k, old) !== true) continue;
      count++;
      blockCount += length;
      shortestBlockCount = shortestBlockCount === 0 ? length : Math.min(shortestBlockCount, length);
      break;
    }
  }
  return { count, blockCount, shortestBlockCount };
}

/** The keepWhole runs that hold a changed block, per block: the run's start and end (0: none). */
interface WholeRuns {
  readonly startOf: Int32Array;
  readonly endOf: Int32Array;
}

function changedWholeRuns(
  next: BlockDigests,
  old: OldImageView,
  runs: readonly Extent[],
  maxRun: number,
): WholeRuns | undefined {
  if (runs.length === 0) return undefined;
  const startOf = new Int32Array(next.blockCount);
  const endOf = new Int32Array(next.blockCount);
  for (const r of runs) {
    const end = Math.min(next.blockCount, r.startBlock + r.blockCount);
    if (end - r.startBlock > maxRun) continue;
    let changed = false;
    for (let k = r.startBlock; k < end && !changed; k++) changed = isChanged(next, k, old) === true;
    if (!changed) continue;
    for (let k = r.startBlock; k < end; k++) {
      // A block two members share stays with the first (its end would otherwise be cut off).
      if (next.dontCare[k] || endOf[k] !== 0) continue;
      startOf[k] = r.startBlock;
      endOf[k] = end;
    }
  }
  return { startOf, endOf };
}

/** True when a changed keepWhole run has a block in [start, start + chunk). */
function holdsWholeRun(whole: WholeRuns, start: number, chunk: number): boolean {
  const end = Math.min(whole.endOf.length, start + chunk);
  for (let k = start; k < end; k++) if (whole.endOf[k]! > 0) return true;
  return false;
}

/**
 * Where a chunk from `start` ends: `start + chunk`, unless its last block's changed keepWhole run
 * goes on past it;
 * then the run's end when the chunk stays within maxRun, else the run's start (when after `start`).
 */
function chunkEnd(whole: WholeRuns, start: number, chunk: number, maxRun: number): number {
  const cut = start + chunk;
  if (cut >= whole.endOf.length) return cut;
  const runEnd = whole.endOf[cut - 1]!;
  const runStart = whole.startOf[cut - 1]!;
  if (runEnd <= cut) return cut;
  if (runEnd - start <= maxRun) return runEnd;
  return runStart > start ? runStart : cut;
}

/** True for a changed block, false for a found one, undefined for zero/DONT_CARE (never joined). */
function isChanged(next: BlockDigests, i: number, old: OldImageView | undefined): boolean | undefined {
  if (next.zero[i] || next.dontCare[i]) return undefined;
  return !(old && findSource(next, i, old) >= 0);
}

/** Most distinct displacements the found runs joined into one chunk may have. */
export const MAX_JOINED_DELTAS = 2;
/** Longest run of found blocks at mixed displacements a chunk still absorbs (no window added). */
export const MAX_MIXED_GAP_BLOCKS = 16;

/**
 * From found block `i`, where a changed block ends the found run before `limit`: that block's
 * index, and the run's displacement d when all of it lies at one (new block i + k is old block
 * i + k + d; d is one of `joined`, tried first, or, while fewer than MAX_JOINED_DELTAS, where
 * block i is found). A run at mixed displacements (repeated content, small moves) joins without
 * a d when it is at most MAX_MIXED_GAP_BLOCKS long: its blocks likely sit near the chunk's
 * windows, and one DIFF op still costs less than COPY + DIFF. Otherwise undefined (no join).
 */
function joinableGap(
  next: BlockDigests,
  i: number,
  old: OldImageView,
  limit: number,
  joined: readonly number[],
): { end: number; delta?: number } | undefined {
  const found = findSource(next, i, old) - i;
  const deltas = joined.includes(found) || joined.length >= MAX_JOINED_DELTAS ? joined : [...joined, found];
  const last = Math.min(next.blockCount, limit);
  for (const d of deltas) {
    let j = i;
    while (j < last && !next.zero[j] && !next.dontCare[j] && foundAt(next, j, old, j + d)) j++;
    if (j > i && j < last && isChanged(next, j, old) === true) return { end: j, delta: d };
  }
  const end = Math.min(last, i + MAX_MIXED_GAP_BLOCKS + 1);
  for (let j = i + 1; j < end; j++) {
    const changed = isChanged(next, j, old);
    if (changed === undefined) return undefined;
    if (changed) return { end: j };
  }
  return undefined;
}

/** True when new block `i` equals old block `s` (inside the old image, not DONT_CARE). */
function foundAt(next: BlockDigests, i: number, old: OldImageView, s: number): boolean {
  return s >= 0 && s < old.digests.blockCount && !old.digests.dontCare[s] && sameBlock(next, i, old.digests, s);
}

function findSource(next: BlockDigests, i: number, old: OldImageView): number {
  if (i < old.digests.blockCount && !old.digests.dontCare[i] && sameBlock(next, i, old.digests, i)) return i;
  return old.index.find(next.digests, i * 32);
}

/**
 * Where a changed chunk's old version most likely is, as block displacements (old − new), best
 * first: where the found runs it absorbed lie, where its anchors point, where the last copy run
 * says data shifted, the same offset.
 */
function sourceDeltas(
  next: BlockDigests,
  old: OldImageView,
  dst: Extent,
  lastDelta: number,
  joinedDeltas: readonly number[],
): number[] {
  const bs = next.blockSizeBytes;
  const voted =
    old.anchors && next.anchors
      ? old.anchors
          .likelyDisplacements(
            next.anchors,
            dst.startBlock * bs,
            (dst.startBlock + dst.blockCount) * bs,
            ANCHOR_CANDIDATES,
            bs,
          )
          .map((d) => Math.round(d / bs))
      : [];
  return [...new Set([...joinedDeltas, ...voted, lastDelta, 0])].slice(0, ANCHOR_CANDIDATES + 1);
}

/**
 * Old regions for a changed chunk: a window around each candidate displacement (`deltas`, best
 * first). Each window spans at least the chunk; windows are clipped to the old image and merged,
 * then grown evenly on both sides until they hold the budget: maxSourceBlocks, or a few times the
 * chunk per displacement for a small chunk (at least MIN_WINDOW_BLOCKS). Candidates that land
 * close together thus still read the whole budget around them (three candidates for a chunk of
 * half the budget read 1.5 x the budget).
 */
export function diffSources(
  dst: Extent,
  deltas: readonly number[],
  oldBlocks: number,
  maxSourceBlocks: number,
): Extent[] {
  const centers = deltas.map((d) => dst.startBlock + d);
  // A window a few times the chunk: the old version of a small change sits close by, and every
  // dictionary byte costs encoder time at high levels.
  const budget = Math.min(maxSourceBlocks, centers.length * Math.max(MIN_WINDOW_BLOCKS, 3 * dst.blockCount));
  let windows: Extent[] = [];
  for (const c of centers) {
    const start = Math.max(0, c);
    const end = Math.min(oldBlocks, c + dst.blockCount);
    if (end > start) windows.push({ startBlock: start, blockCount: end - start });
  }
  windows = mergeExtents(windows);
  for (let round = 0; round < 4; round++) {
    const total = windows.reduce((t, w) => t + w.blockCount, 0);
    const side = Math.floor((budget - total) / (2 * windows.length));
    if (side <= 0) break;
    windows = mergeExtents(
      windows.map((w) => {
        const start = Math.max(0, w.startBlock - side);
        return { startBlock: start, blockCount: Math.min(oldBlocks, w.startBlock + w.blockCount + side) - start };
      }),
    );
  }
  return windows;
}
