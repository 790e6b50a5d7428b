// The in-place planner against the in-place proof and an in-memory model of the device: random
// block permutations, moves (overlapping included), edits and zero runs are planned like
// planBlocks would (copies, changed chunks with diff windows), ordered by orderInPlace, proven by
// proveInPlace, and "applied" to an array of block contents where every read must see the OLD
// content of the block it names. Property: the result is the new image and the stash peak is
// within the limit. Plus the proof's refusals, one per rule.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIdentityCopy, MAX_PROOF_STEPS, proveInPlace } from '../../src/format/in-place-proof.js';
import type { Extent } from '../../src/model/extent.js';
import type { PartitionUpdate } from '../../src/model/manifest.js';
import type { Operation } from '../../src/model/operation.js';
import { orderInPlace } from '../../src/planner/in-place-order.js';
import type { PlanItem, PlanStep } from '../../src/planner/plan-items.js';
import { expectOta } from '../helpers/expect-ota.js';
import { seededRng, type Rng } from '../helpers/seeded-random.js';

const BS = 4096;
const SHA = new Uint8Array(32);
const blob = { offsetBytes: 0, sizeBytes: 1, sha256: SHA };

/** Old blocks are 1..n; new content: old ids (moved), negative ids (changed), 0 (zero). */
function makePair(r: Rng): { old: number[]; next: number[] } {
  const n = r.int(8, 160);
  const old = Array.from({ length: n }, (_, i) => i + 1);
  const next = [...old];
  for (let k = r.int(1, 6); k > 0; k--) {
    const kind = r.int(0, 4);
    const len = r.int(1, Math.max(1, Math.floor(n / 3)));
    const a = r.int(0, n - len);
    const b = r.int(0, n - len);
    if (kind === 0) {
      // move a run (source and destination may overlap)
      const run = next.slice(a, a + len);
      for (let i = 0; i < len; i++) next[b + i] = run[i]!;
    } else if (kind === 1) {
      // swap two runs
      for (let i = 0; i < len && a + i < b; i++) [next[a + i], next[b + i]] = [next[b + i]!, next[a + i]!];
    } else if (kind === 2) {
      for (let i = 0; i < len; i++) next[a + i] = -(a + i + 1) - 1000 * k; // edit
    } else if (kind === 3) {
      for (let i = 0; i < len; i++) next[a + i] = 0;
    } else {
      // permute single blocks
      for (let i = 0; i < len; i++) {
        const x = r.int(0, n - 1);
        [next[a + i], next[x]] = [next[x]!, next[a + i]!];
      }
    }
  }
  return { old, next };
}

/** Plan items the way planBlocks shapes them: zero runs, copy runs, changed chunks with windows. */
function planOf(old: number[], next: number[], r: Rng, maxRun: number): PlanItem[] {
  const where = new Map(old.map((v, i) => [v, i]));
  const items: PlanItem[] = [];
  for (let i = 0; i < next.length;) {
    const start = i;
    if (next[i] === 0) {
      while (i < next.length && next[i] === 0 && i - start < maxRun) i++;
      items.push({ kind: 'zero', dst: { startBlock: start, blockCount: i - start } });
    } else if (where.has(next[i]!)) {
      const s = where.get(next[i]!)!;
      do i++;
      while (i < next.length && i - start < maxRun && next[i] === old[s + i - start]);
      items.push({
        kind: 'copy',
        dst: { startBlock: start, blockCount: i - start },
        src: { startBlock: s, blockCount: i - start },
      });
    } else {
      while (i < next.length && i - start < maxRun && next[i]! < 0) i++;
      const sources: Extent[] = [];
      const window = (c: number) => {
        const a = Math.max(0, c - r.int(0, 8));
        const b = Math.min(old.length, c + (i - start) + r.int(0, 8));
        if (b > a) sources.push({ startBlock: a, blockCount: b - a });
      };
      if (r.next() < 0.8) window(start);
      if (r.next() < 0.5) window(r.int(0, old.length - 1));
      const merged = [...sources].sort((x, y) => x.startBlock - y.startBlock);
      const disjoint: Extent[] = [];
      for (const e of merged) {
        const last = disjoint[disjoint.length - 1];
        if (last && e.startBlock <= last.startBlock + last.blockCount) {
          const end = Math.max(last.startBlock + last.blockCount, e.startBlock + e.blockCount);
          disjoint[disjoint.length - 1] = { startBlock: last.startBlock, blockCount: end - last.startBlock };
        } else disjoint.push(e);
      }
      items.push({ kind: 'changed', dst: { startBlock: start, blockCount: i - start }, sources: disjoint });
    }
  }
  return items;
}

/** The ops the builder would write for the steps (hashes are placeholders: the model checks content). */
function opsOf(steps: readonly PlanStep[]): Operation[] {
  return steps.map((s): Operation => {
    switch (s.kind) {
      case 'zero':
        return { type: 'zero', dst: [s.dst] };
      case 'copy':
        return {
          type: 'copy',
          dst: [s.dst],
          src: [s.src],
          srcSha256: SHA,
          ...(s.stashIds ? { stashIds: s.stashIds } : {}),
        };
      case 'gathered':
        return { type: 'replace', dst: s.dst, codec: 'none', blob, decoderMemoryBytes: 0, dstSha256: SHA };
      case 'changed':
        return s.sources.length === 0
          ? { type: 'replace', dst: [s.dst], codec: 'none', blob, decoderMemoryBytes: 0, dstSha256: SHA }
          : {
              type: 'diff',
              dst: [s.dst],
              src: s.sources,
              srcSha256: SHA,
              differ: 'bsdiff',
              blob,
              decoderMemoryBytes: 0,
              dstSha256: SHA,
              ...(s.stashIds ? { stashIds: s.stashIds } : {}),
            };
      case 'stash':
        return { type: 'stash', dst: [], stashId: s.stashId, src: s.src, srcSha256: SHA };
      case 'free':
        return { type: 'free', dst: [], stashId: s.stashId };
    }
  });
}

const blocksOf = (extents: readonly Extent[]) =>
  extents.flatMap((e) => Array.from({ length: e.blockCount }, (_, k) => e.startBlock + k));

/** The device, in memory: every source block read must hold its OLD content. Returns the image. */
function applyModel(old: number[], next: number[], ops: readonly Operation[]): number[] {
  const img = [...old];
  const stashes = new Map<number, Map<number, number>>();
  const read = (b: number, ids: readonly number[]) => {
    for (const id of ids) {
      const v = stashes.get(id)!.get(b);
      if (v !== undefined) return v;
    }
    return img[b]!;
  };
  for (const [i, op] of ops.entries()) {
    if (op.type === 'stash') {
      const saved = new Map(blocksOf(op.src).map((b) => [b, img[b]!]));
      for (const [b, v] of saved) expect(v, `op ${i} stashes block ${b}`).toBe(old[b]);
      stashes.set(op.stashId, saved);
    } else if (op.type === 'free') stashes.delete(op.stashId);
    else if (op.type === 'copy' || op.type === 'diff') {
      const ids = op.stashIds ?? [];
      const values = blocksOf(op.src).map((b) => read(b, ids));
      blocksOf(op.src).forEach((b, k) => expect(values[k], `op ${i} (${op.type}) reads block ${b}`).toBe(old[b]));
      blocksOf(op.dst).forEach((b, k) => (img[b] = op.type === 'copy' ? values[k]! : next[b]!));
    } else for (const b of blocksOf(op.dst)) img[b] = next[b]!;
  }
  return img;
}

describe('in-place order (property, pure)', () => {
  it('random moves, swaps, permutations, edits and zero runs: in-place result == new image, stash peak ≤ limit, proof holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(0, 4, 16, 64, 1e9), (seed, limitBlocks) => {
        const r = seededRng(seed);
        const { old, next } = makePair(r);
        const items = planOf(old, next, r, r.int(1, 24));
        const maxStashBytes = Math.min(limitBlocks * BS, 2 ** 40);
        const order = orderInPlace(items, { blockSizeBytes: BS, maxStashBytes });
        const ops = opsOf(order.steps);
        const part: PartitionUpdate = {
          name: 'system',
          source: { sizeBytes: old.length * BS, sha256: SHA, version: '', dontCare: [] },
          target: { sizeBytes: old.length * BS, sha256: SHA, version: '', dontCare: [] },
          operations: ops,
        };
        const proof = proveInPlace(part, BS, maxStashBytes);
        expect(proof.peakStashBytes).toBe(order.peakStashBytes);
        expect(order.peakStashBytes).toBeLessThanOrEqual(maxStashBytes);
        expect(applyModel(old, next, ops)).toEqual(next);
      }),
      { numRuns: 400 },
    );
  });

  it('a rotation by one block (every copy overlaps the next) stashes only what it must, and REPLACEs with no stash', () => {
    const n = 64;
    const old = Array.from({ length: n }, (_, i) => i + 1);
    const next = old.map((_, i) => old[(i + 1) % n]!);
    const items = planOf(old, next, seededRng(1), 16);
    const roomy = orderInPlace(items, { blockSizeBytes: BS, maxStashBytes: 1e9 });
    expect(roomy.convertedCount).toBe(0);
    expect(applyModel(old, next, opsOf(roomy.steps))).toEqual(next);
    const none = orderInPlace(items, { blockSizeBytes: BS, maxStashBytes: 0 });
    expect(none.stashCount).toBe(0);
    expect(none.convertedCount).toBeGreaterThan(0);
    expect(applyModel(old, next, opsOf(none.steps))).toEqual(next);
  });
});

describe('in-place proof refusals (PKG_IN_PLACE_UNSAFE, exit 4)', () => {
  const e = (startBlock: number, blockCount = 1): Extent => ({ startBlock, blockCount });
  const part = (operations: Operation[]): PartitionUpdate => ({
    name: 'system',
    source: { sizeBytes: 4 * BS, sha256: SHA, version: '', dontCare: [] },
    target: { sizeBytes: 4 * BS, sha256: SHA, version: '', dontCare: [] },
    operations,
  });
  // Swap blocks 0 and 1 (a 2-cycle), keep 2 and 3.
  const swap = (o: { stash?: boolean; free?: 'before' | 'none'; stashIds?: number[] }): Operation[] => [
    ...(o.stash === false ? [] : [{ type: 'stash', dst: [], stashId: 1, src: [e(0)], srcSha256: SHA } as Operation]),
    ...(o.free === 'before' ? [{ type: 'free', dst: [], stashId: 1 } as Operation] : []),
    { type: 'copy', dst: [e(0)], src: [e(1)], srcSha256: SHA },
    { type: 'copy', dst: [e(1)], src: [e(0)], srcSha256: SHA, stashIds: o.stashIds ?? [1] },
    ...(o.free === undefined ? [{ type: 'free', dst: [], stashId: 1 } as Operation] : []),
    { type: 'copy', dst: [e(2, 2)], src: [e(2, 2)], srcSha256: SHA },
  ];

  it('accepts the safe swap, with a one-block peak', () => {
    expect(proveInPlace(part(swap({})), BS, BS)).toEqual({ peakStashBytes: BS, stashCount: 1 });
    expect(isIdentityCopy(swap({})[4]!)).toBe(true);
  });
  it.each([
    [
      'a hazardous order (reads a block an earlier op wrote)',
      swap({ stash: false, free: 'none', stashIds: [] }),
      BS,
      /reads blocks 0\.\.0, which op 0 already wrote/,
    ],
    ['a stash over the limit', swap({}), BS - 1, /stash peaks at 4096 bytes, over the package's limit of 4095/],
    ['a use after free', swap({ free: 'before' }), BS, /reads stash 1, which is not live/],
    ['a missing free', swap({ free: 'none' }), BS, /stash 1 is never freed/],
    [
      'an overlapping copy without a stash',
      [
        { type: 'copy', dst: [e(1, 2)], src: [e(0, 2)], srcSha256: SHA },
        { type: 'copy', dst: [e(0), e(3)], src: [e(0), e(3)], srcSha256: SHA },
      ] as Operation[],
      BS,
      /reads blocks 1\.\.1, which it writes itself/,
    ],
    [
      'a stash of an already written block',
      [
        { type: 'zero', dst: [e(0)] },
        { type: 'stash', dst: [], stashId: 1, src: [e(0)], srcSha256: SHA },
        { type: 'free', dst: [], stashId: 1 },
        { type: 'copy', dst: [e(1, 3)], src: [e(1, 3)], srcSha256: SHA },
      ] as Operation[],
      BS,
      /stashes blocks 0\.\.0, which op 0 already wrote/,
    ],
    [
      // On a re-run the first STASH 1 (its file now holds the second one's blocks) would rewrite
      // stash-1 from the image and its FREE delete it: the second stash's saved blocks are lost.
      'a stash id used again after its FREE',
      [
        { type: 'stash', dst: [], stashId: 1, src: [e(3)], srcSha256: SHA },
        { type: 'free', dst: [], stashId: 1 },
        { type: 'stash', dst: [], stashId: 1, src: [e(0)], srcSha256: SHA },
        { type: 'zero', dst: [e(0)] },
        { type: 'copy', dst: [e(1)], src: [e(0)], srcSha256: SHA, stashIds: [1] },
        { type: 'free', dst: [], stashId: 1 },
        { type: 'copy', dst: [e(2, 2)], src: [e(2, 2)], srcSha256: SHA },
      ] as Operation[],
      BS,
      /op 2 \(stash\) stashes id 1, which an earlier STASH used/,
    ],
  ])('refuses %s', (_what, ops, limit, message) => {
    expectOta(() => proveInPlace(part(ops), BS, limit), 'PKG_IN_PLACE_UNSAFE', 4, message);
  });
});

describe('in-place proof cost at the manifest limits (32,768 ops, 131,072 extents)', () => {
  const image = (blocks: number) => ({ sizeBytes: blocks * BS, sha256: SHA, version: '', dontCare: [] });
  const e = (startBlock: number, blockCount = 1): Extent => ({ startBlock, blockCount });
  const timed = (ops: Operation[], blocks: number, refused = true) => {
    const t0 = performance.now();
    const prove = () =>
      proveInPlace({ name: 'system', source: image(blocks), target: image(blocks), operations: ops }, BS, 2 ** 40);
    if (refused) expectOta(prove, 'PKG_IN_PLACE_UNSAFE', 4, new RegExp(`takes over ${MAX_PROOF_STEPS} steps`));
    else expect(prove().stashCount).toBe(1);
    return performance.now() - t0;
  };

  it('proves one 50,000-extent stash named by 27,000 ops, refuses it named with a second stash, in seconds', () => {
    const n = 50_000;
    const ops: Operation[] = [
      { type: 'stash', dst: [], stashId: 1, src: Array.from({ length: n }, (_, i) => e(2 * i)), srcSha256: SHA },
    ];
    for (let j = 0; j < 27_000; j++)
      ops.push({ type: 'copy', dst: [e(2 * j)], src: [e(2 * j + 2)], srcSha256: SHA, stashIds: [1] });
    ops.push({ type: 'free', dst: [], stashId: 1 });
    expect(timed(ops, 2 * n, false)).toBeLessThan(5000);
    // The same stash named with a second (one-block) stash: every op merges 50,001 extents.
    const two: Operation[] = [{ type: 'stash', dst: [], stashId: 2, src: [e(1)], srcSha256: SHA }, ...ops];
    for (const op of two) if (op.type === 'copy') Object.assign(op, { stashIds: [1, 2] });
    two.push({ type: 'free', dst: [], stashId: 2 });
    expect(timed(two, 2 * n)).toBeLessThan(5000);
  });

  it('refuses, within seconds, 20,000 sources each spanning 40,000 one-block writes (O(n²) without the step cap)', () => {
    const w = 40_000;
    const m = 20_000;
    const ops: Operation[] = [{ type: 'stash', dst: [], stashId: 1, src: [e(0, w)], srcSha256: SHA }];
    for (let j = 0; j < m; j++)
      ops.push({
        type: 'diff',
        dst: [e(j), e(j + m)],
        src: [e(0, w)],
        srcSha256: SHA,
        stashIds: [1],
        differ: 'bsdiff',
        blob: { offsetBytes: 0, sizeBytes: 0, sha256: SHA },
        decoderMemoryBytes: 0,
        dstSha256: SHA,
      });
    ops.push({ type: 'free', dst: [], stashId: 1 });
    expect(timed(ops, w)).toBeLessThan(5000);
  });
});
