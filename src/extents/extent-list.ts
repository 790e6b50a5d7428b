// Pure extent-list algebra: merge overlapping or touching extents, turn per-block flags into
// extents, remove flagged blocks from extents. No I/O.

import type { Extent } from '../model/extent.js';

/** Sorts extents and merges those that overlap or touch. */
export function mergeExtents(extents: readonly Extent[]): Extent[] {
  const sorted = [...extents].sort((a, b) => a.startBlock - b.startBlock);
  const out: Extent[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && e.startBlock <= last.startBlock + last.blockCount) {
      const end = Math.max(last.startBlock + last.blockCount, e.startBlock + e.blockCount);
      out[out.length - 1] = { startBlock: last.startBlock, blockCount: end - last.startBlock };
    } else {
      out.push(e);
    }
  }
  return out;
}

/** The runs of blocks whose flag is set, in order. */
export function extentsOfFlags(flags: Uint8Array, fromBlock = 0, toBlock = flags.length): Extent[] {
  const out: Extent[] = [];
  for (let i = fromBlock; i < toBlock; i++) {
    if (!flags[i]) continue;
    const start = i;
    while (i < toBlock && flags[i]) i++;
    out.push({ startBlock: start, blockCount: i - start });
  }
  return out;
}

/** The parts of `extents` whose blocks are not flagged. */
export function withoutFlagged(extents: readonly Extent[], flags: Uint8Array): Extent[] {
  const out: Extent[] = [];
  for (const e of extents) {
    let i = e.startBlock;
    const end = e.startBlock + e.blockCount;
    while (i < end) {
      while (i < end && flags[i]) i++;
      const start = i;
      while (i < end && !flags[i]) i++;
      if (i > start) out.push({ startBlock: start, blockCount: i - start });
    }
  }
  return out;
}
