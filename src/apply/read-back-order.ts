// Which earlier op each op waits for when it reads back target blocks (format 1.6): the applier
// starts an op ahead, while the op before it is still being written, only when every block it
// reads back was written before that. Pure. Memory: one entry per destination extent.

import { partitionPoint } from '../extents/lower-bound.js';
import type { Operation } from '../model/operation.js';
import { targetSourceOf } from '../model/operation.js';

/**
 * For each op, the highest index of an op that writes a block it reads back (-1: it reads none
 * back). The manifest invariants have checked that every such block is written by an earlier op,
 * so each entry is below its own index.
 */
export function lastWritersRead(operations: readonly Operation[]): Int32Array {
  const last = new Int32Array(operations.length).fill(-1);
  if (!operations.some((op) => targetSourceOf(op).length > 0)) return last;
  const writers = operations
    .flatMap((op, index) => op.dst.map((e) => ({ start: e.startBlock, end: e.startBlock + e.blockCount, index })))
    .sort((a, b) => a.start - b.start);
  operations.forEach((op, i) => {
    for (const e of targetSourceOf(op)) {
      const end = e.startBlock + e.blockCount;
      // Writers overlapping [start, end): from the first that ends after the start.
      for (let k = partitionPoint(writers.length, (w) => writers[w]!.end <= e.startBlock); k < writers.length; k++) {
        const w = writers[k]!;
        if (w.start >= end) break;
        last[i] = Math.max(last[i]!, w.index);
      }
    }
  });
  return last;
}
