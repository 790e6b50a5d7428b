// Which ops write the target blocks a DIFF reads back (format 1.6): the one walk behind both the
// manifest invariant (every block read back was written by an earlier op) and the applier's start
// order (an op is started ahead only once every block it reads back is written). Pure. Memory: one
// entry per destination extent, and only when some op reads back.

import { partitionPoint } from '../extents/lower-bound.js';
import { targetSourceOf, type Operation } from './operation.js';

/** What targetReadWriters found. */
export interface TargetReadWriters {
  /** For each op, the highest index of an op writing a block it reads back (-1: it reads none back). */
  readonly lastWriter: Int32Array;
  /** The first block (in op, then extent order) read back that no earlier op writes, if any. */
  readonly unwritten?: { readonly op: number; readonly block: number };
}

/**
 * The writers of every block `operations` read back. The ops' destination extents must not overlap
 * (a checked manifest's never do): each block has at most one writer.
 */
export function targetReadWriters(operations: readonly Operation[]): TargetReadWriters {
  const lastWriter = new Int32Array(operations.length).fill(-1);
  if (!operations.some((op) => targetSourceOf(op).length > 0)) return { lastWriter };
  const writers = operations
    .flatMap((op, index) => op.dst.map((e) => ({ start: e.startBlock, end: e.startBlock + e.blockCount, index })))
    .sort((a, b) => a.start - b.start);
  let unwritten: TargetReadWriters['unwritten'];
  operations.forEach((op, i) => {
    for (const e of targetSourceOf(op)) {
      const end = e.startBlock + e.blockCount;
      // The first writer that ends after the read starts, then each following one must continue it.
      let k = partitionPoint(writers.length, (w) => writers[w]!.end <= e.startBlock);
      for (let at = e.startBlock; at < end; k++) {
        const w = writers[k];
        if (!w || w.start > at || w.index >= i) {
          unwritten ??= { op: i, block: at };
          break;
        }
        lastWriter[i] = Math.max(lastWriter[i]!, w.index);
        at = w.end;
      }
    }
  });
  return unwritten ? { lastWriter, unwritten } : { lastWriter };
}
