// Gathers a delta plan's repeated new content: changed blocks whose content already appears in an
// earlier changed chunk (a library's copy in a second partition folder, a file shipped twice) join
// that chunk as its twins, so one op's differ and compressor code the content once and the copy
// as a repeat. Pure: digests and items in, items out. Memory: a digest index of the changed blocks
// (8 bytes each) + 9 bytes per new-image block (changed flag, first occurrence and owner).

import type { BlockDigests } from '../hashing/block-digests.js';
import { DigestIndex, DIGEST_INDEX_MAX_BLOCKS } from '../hashing/digest-index.js';
import type { Extent } from '../model/extent.js';
import type { ChangedItem, PlanItem } from './plan-items.js';

/** Shortest run of repeated blocks moved to an earlier chunk (shorter ones stay, coded in place). */
export const MIN_TWIN_BLOCKS = 8;
/**
 * Longest run of unrepeated blocks that goes along with a neighbouring repeated run: a few blocks
 * left behind (metadata between two copied files) would otherwise become a small op of their own
 * that still reads, and indexes, the whole chunk's sources.
 */
export const MAX_CARRIED_BLOCKS = 32;
/**
 * Most extra destination extents one partition's gathering adds; past it, chunks stay as they
 * are. Keeps a pathological image (thousands of short repeats) within the manifest's extent
 * counts; the 4 GiB bench pair (a 1 GiB image four times) needs about 1,100.
 */
export const MAX_GATHERED_EXTENTS = 4096;
/**
 * A chunk that may not take the copies of its content within the op is first cut into
 * pieces of 1/TWINS_PER_OP of the op, so a piece and three copies of it fit one op. On the
 * bench's 4 GiB pair (a 1 GiB image four times), 2 MiB chunks left whole made the package 1.8 x
 * larger: one copy fitted, and the other two were coded again.
 */
export const TWINS_PER_OP = 4;

/** A run of a chunk's blocks and the earlier chunk (index in the output) that takes it, or -1. */
interface Run {
  owner: number;
  start: number;
  count: number;
}

/**
 * The A/B delta plan `items` (destination order) with repeated changed content gathered: a run
 * of at least MIN_TWIN_BLOCKS changed blocks whose every block equals a block of one earlier
 * changed chunk is appended to that chunk's `extraDst` (with up to MAX_CARRIED_BLOCKS unrepeated
 * neighbours) while the chunk stays within `maxRunBlocks`; the rest of a chunk stays where it
 * was, as one chunk with the same sources, and takes later copies of the repeats it kept (a
 * file shipped four times fills one op, then the next). A chunk's op writes `dst`, then `extraDst` in order,
 * from one blob: content repeated in the image repeats inside one op's data. Once the extents
 * it added reach `maxGatheredExtents`, the remaining chunks are left as they are.
 */
export function gatherTwins(
  items: readonly PlanItem[],
  next: BlockDigests,
  maxRunBlocks: number,
  maxGatheredExtents = MAX_GATHERED_EXTENTS,
): PlanItem[] {
  if (next.blockCount > DIGEST_INDEX_MAX_BLOCKS) return [...items];
  const first = firstOccurrences(items, next);
  if (first === undefined) return [...items];
  const pieces = cutRepeatedChunks(items, first, maxRunBlocks);
  // Where each changed block's content is coded now: the index in `out` of its chunk.
  const ownerOf = new Int32Array(next.blockCount).fill(-1);
  const out: PlanItem[] = [];
  const extra = new Map<number, Extent[]>();
  const blocksOf: number[] = [];
  let added = 0;
  for (const item of pieces) {
    if (item.kind !== 'changed' || added >= maxGatheredExtents) {
      out.push(item);
      blocksOf.push(0);
      continue;
    }
    const runs = ownedRuns(item.dst, first, ownerOf);
    added += runs.length - 1;
    const own: Extent[] = [];
    for (const r of runs) {
      if (r.owner >= 0 && blocksOf[r.owner]! + r.count <= maxRunBlocks) {
        appendExtent(extra, r.owner, { startBlock: r.start, blockCount: r.count });
        blocksOf[r.owner] = blocksOf[r.owner]! + r.count;
        ownerOf.fill(r.owner, r.start, r.start + r.count);
      } else {
        appendTo(own, { startBlock: r.start, blockCount: r.count });
      }
    }
    if (own.length === 0) continue;
    const at = out.length;
    out.push({ kind: 'changed', dst: own[0]!, sources: item.sources });
    blocksOf.push(own.reduce((n, e) => n + e.blockCount, 0));
    for (const e of own) {
      ownerOf.fill(at, e.startBlock, e.startBlock + e.blockCount);
      // Repeats kept here (their first copy's chunk was full) are where later copies go now.
      for (let k = e.startBlock; k < e.startBlock + e.blockCount; k++) if (first[k]! >= 0) ownerOf[first[k]!] = at;
    }
    if (own.length > 1) extra.set(at, own.slice(1));
  }
  return out.map((item, at) => {
    const more = extra.get(at);
    return more && item.kind === 'changed' ? ({ ...item, extraDst: more } satisfies ChangedItem) : item;
  });
}

/**
 * A chunk's blocks in runs by the earlier chunk that already codes their content (-1: none, or a
 * repeated run shorter than MIN_TWIN_BLOCKS); an unrepeated run of at most MAX_CARRIED_BLOCKS
 * next to a repeated one goes with it (the one before it first).
 */
function ownedRuns(dst: Extent, first: Int32Array, ownerOf: Int32Array): Run[] {
  const raw: Run[] = [];
  for (let k = dst.startBlock; k < dst.startBlock + dst.blockCount; k++) {
    const owner = first[k]! >= 0 ? ownerOf[first[k]!]! : -1;
    const last = raw[raw.length - 1];
    if (last && last.owner === owner) last.count++;
    else raw.push({ owner, start: k, count: 1 });
  }
  for (const r of raw) if (r.count < MIN_TWIN_BLOCKS) r.owner = -1;
  const runs = joinSameOwner(raw);
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i]!;
    if (r.owner >= 0 || r.count > MAX_CARRIED_BLOCKS) continue;
    const before = runs[i - 1];
    const after = runs[i + 1];
    if (before && before.owner >= 0) r.owner = before.owner;
    else if (after && after.owner >= 0) r.owner = after.owner;
  }
  return joinSameOwner(runs);
}

/**
 * `items` with each changed chunk that may not take the copies of its content within
 * `maxRunBlocks` (its blocks plus, per block, every other occurrence of its content) cut into
 * pieces of maxRunBlocks / TWINS_PER_OP (same sources), when such a piece is at least
 * MIN_TWIN_BLOCKS. Copies count like first occurrences: where the first occurrence's op is full,
 * a copy takes the next ones (on the 4 GiB pair, counting only the copies after each block left
 * more chunks whole and made the package 14 % larger). A chunk cut around whole runs
 * (holdsWholeRuns) stays whole.
 */
function cutRepeatedChunks(items: readonly PlanItem[], first: Int32Array, maxRunBlocks: number): PlanItem[] {
  const pieceBlocks = Math.floor(maxRunBlocks / TWINS_PER_OP);
  if (pieceBlocks < MIN_TWIN_BLOCKS) return [...items];
  // Occurrences of each content beyond one, counted at its first block.
  const others = new Uint32Array(first.length);
  for (const j of first) if (j >= 0) others[j]!++;
  return items.flatMap((item) => {
    if (item.kind !== 'changed' || item.holdsWholeRuns === true || item.dst.blockCount <= pieceBlocks) return [item];
    const { startBlock, blockCount } = item.dst;
    let copied = 0;
    for (let k = startBlock; k < startBlock + blockCount; k++) copied += others[first[k]! >= 0 ? first[k]! : k]!;
    if (copied === 0 || blockCount + copied <= maxRunBlocks) return [item];
    const out: PlanItem[] = [];
    for (let at = 0; at < blockCount; at += pieceBlocks) {
      const dst = { startBlock: startBlock + at, blockCount: Math.min(pieceBlocks, blockCount - at) };
      out.push({ kind: 'changed', dst, sources: item.sources });
    }
    return out;
  });
}

/** Adjacent runs of one owner joined. */
function joinSameOwner(runs: readonly Run[]): Run[] {
  const out: Run[] = [];
  for (const r of runs) {
    const last = out[out.length - 1];
    if (last && last.owner === r.owner) last.count += r.count;
    else out.push({ ...r });
  }
  return out;
}

/**
 * For each changed, non-zero block: the lowest earlier changed block with the same content, or -1.
 * Undefined when no changed block repeats (nothing to gather).
 */
function firstOccurrences(items: readonly PlanItem[], next: BlockDigests): Int32Array | undefined {
  const changed = new Uint8Array(next.blockCount);
  for (const item of items)
    if (item.kind === 'changed') changed.fill(1, item.dst.startBlock, item.dst.startBlock + item.dst.blockCount);
  // The lowest changed block of each content (zero and DONT_CARE blocks are not indexed).
  const index = new DigestIndex(next, (k) => changed[k] === 1);
  const first = new Int32Array(next.blockCount).fill(-1);
  let any = false;
  for (let k = 0; k < next.blockCount; k++) {
    if (changed[k] !== 1) continue;
    const j = index.find(next.digests, k * 32);
    if (j >= 0 && j < k) {
      first[k] = j;
      any = true;
    }
  }
  return any ? first : undefined;
}

/** Appends `e` to chunk `at`'s extra destination runs. */
function appendExtent(extra: Map<number, Extent[]>, at: number, e: Extent): void {
  const list = extra.get(at);
  if (list) appendTo(list, e);
  else extra.set(at, [e]);
}

/** Appends `e` to `list`, joining it to the last extent when they touch. */
function appendTo(list: Extent[], e: Extent): void {
  const last = list[list.length - 1];
  if (last && last.startBlock + last.blockCount === e.startBlock)
    list[list.length - 1] = { startBlock: last.startBlock, blockCount: last.blockCount + e.blockCount };
  else list.push(e);
}
