// The safety proof of an in-place partition (FORMAT.md §4b), shared by the builder (which checks
// the order it planned) and every reader (which runs it before any write): no op reads an image
// block an earlier op (or the op itself) overwrote unless the block comes from a live stash taken
// before that write; stashes are used only while live and all freed; the stash peak is within the
// limit. Pure: ops in, numbers out; violations throw PKG_IN_PLACE_UNSAFE (exit 4).

import { PackageFormatError } from '../errors/ota-error.js';
import { partitionPoint } from '../extents/lower-bound.js';
import { mergeExtents } from '../extents/extent-list.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import type { PartitionUpdate } from '../model/manifest.js';
import { stashIdsOf, type Operation } from '../model/operation.js';

/**
 * Most steps the proof may take (write runs met by sources, stash extents merged for readers):
 * an honest plan reads each old block about once and needs well under 2^20; a hostile package
 * whose sources or stashes are named over and over would cost O(n²) (minutes at the manifest
 * limits), so past this it is refused as unprovable (about a second of work).
 */
export const MAX_PROOF_STEPS = 2 ** 24;

/** Steps charged per stash extent merged for an op naming several stashes (a sort, ~20× a lookup). */
const MERGE_STEPS = 16;

/** What the proof found. */
export interface InPlaceProof {
  /** Most bytes of stash alive at once. */
  readonly peakStashBytes: number;
  /** STASH ops in the partition. */
  readonly stashCount: number;
}

/** A run of blocks written by op `opIndex`. */
interface Write {
  readonly start: number;
  readonly end: number;
  readonly opIndex: number;
}

/**
 * True for a COPY whose source is its destination, extent for extent, with no stash: the blocks
 * already hold their new content, so the op writes nothing and readers of those blocks see the
 * same bytes before and after it.
 */
export function isIdentityCopy(op: Operation): boolean {
  return (
    op.type === 'copy' &&
    stashIdsOf(op).length === 0 &&
    op.src.length === op.dst.length &&
    op.src.every((e, i) => e.startBlock === op.dst[i]!.startBlock && e.blockCount === op.dst[i]!.blockCount)
  );
}

/**
 * Proves the op order of an in-place partition safe; throws PackageFormatError
 * `PKG_IN_PLACE_UNSAFE` naming the first violation. Cost: O(ops + extents · log + overlaps), the
 * overlaps capped at MAX_PROOF_STEPS.
 */
export function proveInPlace(part: PartitionUpdate, blockSizeBytes: number, maxStashBytes: number): InPlaceProof {
  const unsafe = (detail: string): never => {
    throw new PackageFormatError('PKG_IN_PLACE_UNSAFE', `in-place partition ${part.name}: ${detail}`);
  };
  if (part.source && part.source.sizeBytes !== part.target.sizeBytes)
    unsafe(
      `the old image is ${part.source.sizeBytes} bytes and the new ${part.target.sizeBytes}; in-place images keep their size`,
    );
  const writes: Write[] = [];
  for (const [i, op] of part.operations.entries()) {
    if ((op.type === 'replace' || op.type === 'diff') && op.dstSha256 === undefined)
      unsafe(`op ${i} (${op.type}) has no dst_sha256, so a re-run could not tell whether it is done`);
    if (isIdentityCopy(op)) continue;
    for (const e of op.dst) writes.push({ start: e.startBlock, end: e.startBlock + e.blockCount, opIndex: i });
  }
  writes.sort((a, b) => a.start - b.start);
  // The lookups below need disjoint runs (the manifest invariants check it; callers may not).
  for (let k = 1; k < writes.length; k++)
    if (writes[k - 1]!.end > writes[k]!.start)
      unsafe(`ops ${writes[k - 1]!.opIndex} and ${writes[k]!.opIndex} write the same blocks`);
  const live = new Map<number, { extents: Extent[]; bytes: number }>();
  const used = new Set<number>();
  let steps = 0;
  const spend = (n: number) => {
    steps += n;
    if (steps > MAX_PROOF_STEPS)
      unsafe(`proving the op order takes over ${MAX_PROOF_STEPS} steps (sources or stashes overlap too often)`);
  };
  let liveBytes = 0;
  let peakStashBytes = 0;
  let stashCount = 0;
  // Pieces of `src` written by an op at or before `opIndex`, i.e. blocks whose old content is gone.
  const overwritten = (src: readonly Extent[], opIndex: number, each: (a: number, b: number, by: number) => void) => {
    for (const e of src) {
      const a = e.startBlock;
      const b = e.startBlock + e.blockCount;
      for (let k = partitionPoint(writes.length, (j) => writes[j]!.end <= a); k < writes.length; k++) {
        const w = writes[k]!;
        if (w.start >= b) break;
        spend(1);
        if (w.opIndex <= opIndex) each(Math.max(a, w.start), Math.min(b, w.end), w.opIndex);
      }
    }
  };
  for (const [i, op] of part.operations.entries()) {
    const where = `op ${i} (${op.type})`;
    if (op.type === 'stash') {
      if (live.has(op.stashId)) unsafe(`${where} stashes id ${op.stashId}, which is still live`);
      // Ids are never reused: a re-run finds a stash by its id, and would take (and then free) a
      // later stash's file for an earlier STASH of the same id.
      if (used.has(op.stashId)) unsafe(`${where} stashes id ${op.stashId}, which an earlier STASH used`);
      used.add(op.stashId);
      // A stash must save old content: none of its blocks may have been written yet.
      overwritten(op.src, i, (a, b, by) =>
        unsafe(`${where} stashes blocks ${a}..${b - 1}, which op ${by} already wrote`),
      );
      const bytes = totalBlocks(op.src) * blockSizeBytes;
      live.set(op.stashId, { extents: mergeExtents(op.src), bytes });
      liveBytes += bytes;
      peakStashBytes = Math.max(peakStashBytes, liveBytes);
      stashCount++;
      continue;
    }
    if (op.type === 'free') {
      const s = live.get(op.stashId);
      if (!s) unsafe(`${where} frees stash ${op.stashId}, which is not live (never stashed, or freed already)`);
      live.delete(op.stashId);
      liveBytes -= s!.bytes;
      continue;
    }
    if (op.type !== 'copy' && op.type !== 'diff') continue;
    const covered: Extent[][] = [];
    for (const id of stashIdsOf(op)) {
      const s = live.get(id);
      if (!s) unsafe(`${where} reads stash ${id}, which is not live (used after its FREE, or never stashed)`);
      covered.push(s!.extents);
    }
    if (isIdentityCopy(op)) continue;
    // One stash is merged already; merging several costs a sort (charged as MERGE_STEPS each).
    if (covered.length > 1) spend(MERGE_STEPS * covered.reduce((n, x) => n + x.length, 0));
    const stashed = covered.length === 1 ? covered[0]! : mergeExtents(covered.flat());
    overwritten(op.src, i, (a, b, by) => {
      const k = partitionPoint(stashed.length, (j) => stashed[j]!.startBlock + stashed[j]!.blockCount <= a);
      const s = stashed[k];
      if (s && s.startBlock <= a && s.startBlock + s.blockCount >= b) return;
      unsafe(
        `${where} reads blocks ${a}..${b - 1}, which ${by === i ? 'it writes itself' : `op ${by} already wrote`}, and no stash it names holds them`,
      );
    });
  }
  for (const id of live.keys()) unsafe(`stash ${id} is never freed`);
  if (peakStashBytes > maxStashBytes)
    unsafe(`the stash peaks at ${peakStashBytes} bytes, over the package's limit of ${maxStashBytes}`);
  return { peakStashBytes, stashCount };
}
