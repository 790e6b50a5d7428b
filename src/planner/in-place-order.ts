// Orders a plan for an in-place update (the image is read and rewritten where it is), the way
// Android's blockimgdiff does: a read-after-write graph between items, an order that runs readers
// before the writers of their source blocks, cycles broken by stashing the fewest source blocks,
// and readers turned into REPLACE (new data, no source) when stashing would pass the limit.
// Pure: items in, steps out. format/in-place-proof.ts proves the resulting ops safe.

import { mergeExtents } from '../extents/extent-list.js';
import { partitionPoint } from '../extents/lower-bound.js';
import type { Extent } from '../model/extent.js';
import type { PlanItem, PlanStep } from './plan-items.js';

/** Limits of the ordering. */
export interface InPlaceOrderOptions {
  readonly blockSizeBytes: number;
  /** Most stash bytes alive at once (the strictest target's `maxStashBytes`). */
  readonly maxStashBytes: number;
}

/** The ordered steps and what the ordering cost. */
export interface InPlaceOrder {
  readonly steps: PlanStep[];
  /** Most stash bytes alive at once. */
  readonly peakStashBytes: number;
  /**
   * Items turned into REPLACE to keep the stash within the limit: copies, and changed chunks whose
   * whole diff window had to be dropped (a chunk that loses part of its window stays a DIFF).
   */
  readonly convertedCount: number;
  readonly stashCount: number;
}

/** How much a block a changed chunk's diff window reads counts against a copy's read, when ordering. */
const WINDOW_READ_WEIGHT = 1 / 16;

/** Blocks `[start, end)` that item `reader` reads and item `writer` writes. */
interface Piece {
  readonly writer: number;
  readonly start: number;
  readonly end: number;
}

/** True for a COPY onto its own blocks: no read, no write in place. */
function isIdentity(item: PlanItem): boolean {
  return item.kind === 'copy' && item.src.startBlock === item.dst.startBlock;
}

function readsOf(item: PlanItem): readonly Extent[] {
  if (isIdentity(item)) return [];
  return item.kind === 'copy' ? [item.src] : item.kind === 'changed' ? item.sources : [];
}

/** Orders `items` (destination order, as planBlocks made them) for an in-place update. */
export function orderInPlace(items: readonly PlanItem[], o: InPlaceOrderOptions): InPlaceOrder {
  const pieces = readPieces(items);
  const order = readersFirst(items, pieces);
  const converted = new Set<number>();
  // A changed chunk's sources are only a diff window: a stash that does not fit is better dropped
  // from its window (the DIFF keeps the rest) than paid for with a REPLACE. "reader:writer" pairs.
  const trimmed = new Set<string>();
  for (;;) {
    const plan = stashPlan(order, pieces, converted, trimmed);
    const tooBig = overLimit(items, plan, o);
    if (tooBig.length === 0) return emit(items, order, pieces, plan, converted, trimmed, o);
    for (const { reader, writer } of tooBig) {
      if (items[reader]!.kind === 'changed') trimmed.add(`${reader}:${writer}`);
      else converted.add(reader);
    }
  }
}

/** For every item, the pieces of its sources that other items (or itself) write. */
function readPieces(items: readonly PlanItem[]): Piece[][] {
  const writers = items
    .map((item, id) => ({ id, start: item.dst.startBlock, end: item.dst.startBlock + item.dst.blockCount }))
    .filter((w) => !isIdentity(items[w.id]!))
    .sort((a, b) => a.start - b.start);
  return items.map((item) => {
    const out: Piece[] = [];
    for (const e of readsOf(item)) {
      const a = e.startBlock;
      const b = a + e.blockCount;
      for (let k = partitionPoint(writers.length, (j) => writers[j]!.end <= a); k < writers.length; k++) {
        const w = writers[k]!;
        if (w.start >= b) break;
        out.push({ writer: w.id, start: Math.max(a, w.start), end: Math.min(b, w.end) });
      }
    }
    return out;
  });
}

/**
 * Kahn's topological order on "reader before writer", by a heap of each item's pending cost (the
 * blocks its not-yet-placed readers need from it): a free item (cost 0) goes first, lowest
 * destination first; in a cycle, the item whose readers need the fewest blocks goes, and those
 * blocks get stashed.
 */
function readersFirst(items: readonly PlanItem[], pieces: readonly Piece[][]): number[] {
  // A copy must read every source block (stash or REPLACE otherwise); a changed chunk's window is
  // only a hint (it can be trimmed): cycles are broken on window reads first.
  const weight = (reader: number) => (items[reader]!.kind === 'copy' ? 1 : WINDOW_READ_WEIGHT);
  const cost = new Float64Array(items.length);
  for (const [reader, list] of pieces.entries())
    for (const p of list) if (p.writer !== reader) cost[p.writer]! += (p.end - p.start) * weight(reader);
  const heap = new MinHeap();
  for (let id = 0; id < items.length; id++) heap.push(cost[id]!, items[id]!.dst.startBlock, id);
  const placed = new Uint8Array(items.length);
  const order: number[] = [];
  while (order.length < items.length) {
    const top = heap.pop()!;
    if (placed[top.id] || top.cost !== cost[top.id]) continue;
    placed[top.id] = 1;
    order.push(top.id);
    for (const p of pieces[top.id]!) {
      if (p.writer === top.id || placed[p.writer]) continue;
      cost[p.writer]! -= (p.end - p.start) * weight(top.id);
      heap.push(cost[p.writer]!, items[p.writer]!.dst.startBlock, p.writer);
    }
  }
  return order;
}

/** One stash: the blocks of `writer` that readers at or after it need, alive until `lastUse`. */
interface PlannedStash {
  readonly writer: number;
  readonly extents: Extent[];
  readonly blockCount: number;
  readonly readers: number[];
  readonly lastUse: number;
}

/** The stashes an order needs (by writer position), given the readers already converted. */
function stashPlan(
  order: readonly number[],
  pieces: readonly Piece[][],
  converted: ReadonlySet<number>,
  trimmed: ReadonlySet<string>,
) {
  const pos = new Int32Array(order.length);
  order.forEach((id, at) => (pos[id] = at));
  const needed = new Map<number, { extents: Extent[]; readers: Set<number> }>();
  for (const [reader, list] of pieces.entries()) {
    if (converted.has(reader)) continue;
    for (const p of list) {
      if (pos[reader]! < pos[p.writer]!) continue; // read before it is overwritten
      if (trimmed.has(`${reader}:${p.writer}`)) continue; // dropped from the reader's window
      const n = needed.get(p.writer) ?? { extents: [], readers: new Set<number>() };
      n.extents.push({ startBlock: p.start, blockCount: p.end - p.start });
      n.readers.add(reader);
      needed.set(p.writer, n);
    }
  }
  const byPosition = new Map<number, PlannedStash>();
  for (const [writer, n] of needed) {
    const extents = mergeExtents(n.extents);
    const readers = [...n.readers];
    byPosition.set(pos[writer]!, {
      writer,
      extents,
      blockCount: extents.reduce((s, e) => s + e.blockCount, 0),
      readers,
      lastUse: Math.max(...readers.map((r) => pos[r]!)),
    });
  }
  return byPosition;
}

/**
 * Walks the stashes in order; returns the (reader, writer) reads to give up so that no stash
 * passes the limit. Where a stash does not fit, the cheap way out comes first: the changed chunks
 * reading that stash or any live one lose those blocks from their diff windows. Only when no
 * changed chunk is left to trim are copies (which need every source block) turned into REPLACE.
 */
function overLimit(
  items: readonly PlanItem[],
  plan: ReadonlyMap<number, PlannedStash>,
  o: InPlaceOrderOptions,
): { reader: number; writer: number }[] {
  let live: PlannedStash[] = [];
  const out: { reader: number; writer: number }[] = [];
  const isChanged = (r: number) => items[r]!.kind === 'changed';
  for (const at of [...plan.keys()].sort((a, b) => a - b)) {
    live = live.filter((l) => l.lastUse >= at); // freed after their last reader, before `at`
    const s = plan.get(at)!;
    const bytes = s.blockCount * o.blockSizeBytes;
    if (live.reduce((n, l) => n + l.blockCount * o.blockSizeBytes, 0) + bytes <= o.maxStashBytes) {
      live.push(s);
      continue;
    }
    // The cheapest way out first: changed chunks reading a neighbour's blocks (from this stash or
    // a live one) drop them from their windows; then chunks reading their own old blocks; only
    // then do copies become REPLACE.
    const readsOf = (l: PlannedStash) => l.readers.filter(isChanged).map((reader) => ({ reader, writer: l.writer }));
    const byNeighbours = (l: PlannedStash) => readsOf(l).filter((r) => r.reader !== r.writer);
    // One stash per round (the caller recomputes): this one, else the largest live one.
    const largestFirst = [s, ...[...live].sort((a, b) => b.blockCount - a.blockCount)];
    for (const pick of [byNeighbours, readsOf]) {
      for (const l of largestFirst) {
        const reads = pick(l);
        if (reads.length > 0) return reads;
      }
    }
    out.push(...s.readers.map((reader) => ({ reader, writer: s.writer })));
  }
  return out;
}

/** The steps: STASH before its writer, the items (converted ones without sources), FREE after the last reader. */
function emit(
  items: readonly PlanItem[],
  order: readonly number[],
  pieces: readonly Piece[][],
  plan: ReadonlyMap<number, PlannedStash>,
  converted: ReadonlySet<number>,
  trimmed: ReadonlySet<string>,
  o: InPlaceOrderOptions,
): InPlaceOrder {
  const idOfWriter = new Map<number, number>();
  const freesAt = new Map<number, number[]>();
  let nextId = 1;
  for (const at of [...plan.keys()].sort((a, b) => a - b)) {
    const s = plan.get(at)!;
    idOfWriter.set(s.writer, nextId);
    freesAt.set(s.lastUse, [...(freesAt.get(s.lastUse) ?? []), nextId]);
    nextId++;
  }
  const stashesOf = new Map<number, number[]>();
  for (const s of plan.values())
    for (const r of s.readers) stashesOf.set(r, [...(stashesOf.get(r) ?? []), idOfWriter.get(s.writer)!]);
  const steps: PlanStep[] = [];
  const sizeOf = new Map<number, number>();
  let trimmedAway = 0;
  let liveBytes = 0;
  let peakStashBytes = 0;
  for (const [at, id] of order.entries()) {
    const s = plan.get(at);
    if (s) {
      const stashId = idOfWriter.get(s.writer)!;
      steps.push({ kind: 'stash', stashId, src: s.extents });
      sizeOf.set(stashId, s.blockCount * o.blockSizeBytes);
      liveBytes += s.blockCount * o.blockSizeBytes;
      peakStashBytes = Math.max(peakStashBytes, liveBytes);
    }
    let item = items[id]!;
    const stashIds = (stashesOf.get(id) ?? []).sort((a, b) => a - b);
    if (item.kind === 'changed') {
      const drop = pieces[id]!.filter((p) => trimmed.has(`${id}:${p.writer}`));
      if (drop.length > 0) item = { ...item, sources: withoutPieces(item.sources, drop) };
      if (drop.length > 0 && item.sources.length === 0) trimmedAway++; // nothing left to diff against: a REPLACE
    }
    if (converted.has(id)) steps.push({ kind: 'changed', dst: item.dst, sources: [] });
    else if (item.kind === 'zero') steps.push(item);
    else steps.push(stashIds.length > 0 ? { ...item, stashIds } : item);
    for (const stashId of freesAt.get(at) ?? []) {
      steps.push({ kind: 'free', stashId });
      liveBytes -= sizeOf.get(stashId)!;
    }
  }
  return { steps, peakStashBytes, convertedCount: converted.size + trimmedAway, stashCount: plan.size };
}

/** `extents` without the blocks of `drop` (sorted, disjoint extents in; same out). */
function withoutPieces(extents: readonly Extent[], drop: readonly Piece[]): Extent[] {
  const cuts = [...drop].sort((a, b) => a.start - b.start);
  const out: Extent[] = [];
  for (const e of extents) {
    let at = e.startBlock;
    const end = e.startBlock + e.blockCount;
    for (const c of cuts) {
      if (c.end <= at || c.start >= end) continue;
      if (c.start > at) out.push({ startBlock: at, blockCount: c.start - at });
      at = Math.max(at, c.end);
    }
    if (at < end) out.push({ startBlock: at, blockCount: end - at });
  }
  return out;
}

/** A binary min-heap of (cost, start, id), ordered by cost then start. */
class MinHeap {
  private readonly a: { cost: number; start: number; id: number }[] = [];

  push(cost: number, start: number, id: number): void {
    const a = this.a;
    a.push({ cost, start, id });
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): { cost: number; start: number; id: number } | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(l, m)) m = l;
        if (r < a.length && this.less(r, m)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  private less(i: number, j: number): boolean {
    const x = this.a[i]!;
    const y = this.a[j]!;
    return x.cost < y.cost || (x.cost === y.cost && x.start < y.start);
  }
}
