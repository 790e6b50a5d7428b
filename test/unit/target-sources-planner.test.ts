// addTargetSources (planner/target-sources.ts) on hand-made anchors: which earlier place a chunk
// reads, ties, anchors its old windows explain, the vote threshold, only blocks earlier items
// write, the extent cap; the raw output's read-back past the image's end; and which earlier op
// an op reading back waits for (targetReadWriters).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RawOutput } from '../../src/apply/raw-output.js';
import { AnchorIndex } from '../../src/hashing/anchor-index.js';
import type { AnchorList } from '../../src/hashing/anchor-sampler.js';
import type { Extent } from '../../src/model/extent.js';
import type { PartitionUpdate } from '../../src/model/manifest.js';
import type { Operation } from '../../src/model/operation.js';
import { targetReadWriters } from '../../src/model/target-reads.js';
import type { ChangedItem, PlanItem } from '../../src/planner/plan-items.js';
import { addTargetSources, MIN_TARGET_VOTES } from '../../src/planner/target-sources.js';

const BS = 4096;
const blocks = (startBlock: number, blockCount: number): Extent => ({ startBlock, blockCount });
const changed = (dst: Extent, sources: Extent[] = [], extraDst?: Extent[]): ChangedItem => ({
  kind: 'changed',
  dst,
  sources,
  ...(extraDst ? { extraDst } : {}),
});

/** Anchors at `[position, fingerprint]` pairs (sorted here by position). */
function anchors(pairs: [number, number][]): AnchorList {
  const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
  return {
    positions: Float64Array.from(sorted.map((p) => p[0])),
    fingerprints: Uint32Array.from(sorted.map((p) => p[1])),
    count: sorted.length,
  };
}

/** `count` anchors with fingerprints from `firstFp`, 100 bytes apart from block `startBlock`. */
const run = (startBlock: number, firstFp: number, count: number): [number, number][] =>
  Array.from({ length: count }, (_, i) => [startBlock * BS + 100 * i + 64, firstFp + i]);

const options = (newAnchors: AnchorList, oldAnchors: AnchorList = anchors([]), windowBlocks = 20) => ({
  blockSizeBytes: BS,
  blockCount: 200,
  newAnchors,
  oldAnchors: new AnchorIndex(oldAnchors),
  windowBlocks,
  maxSourceBlocks: 64,
});

const targetSourcesOf = (items: PlanItem[], k: number) => (items[k] as ChangedItem).targetSources;

describe('addTargetSources', () => {
  // Items 0 and 1 write blocks 0-79; the chunk (item 2) writes 100-109 and reads old blocks 0-3.
  const items: PlanItem[] = [changed(blocks(0, 40)), changed(blocks(40, 40)), changed(blocks(100, 10), [blocks(0, 4)])];
  const votes = MIN_TARGET_VOTES;
  // The chunk's anchors 1..N repeat at block 10 (displacement -90), N+1..2N at block 60 (-40).
  const chunk = run(100, 1, 2 * votes);
  const earlier = [...run(10, 1, votes), ...run(60, votes + 1, votes)];

  it('reads a window around the place most anchors point at; a tie goes to the nearer place', () => {
    const out = addTargetSources(items, options(anchors([...earlier, ...chunk])));
    // Centre 100 - 40 + 5 = 65, 20 blocks: 55-74, all written by item 1.
    expect(targetSourcesOf(out, 2)).toEqual([blocks(55, 20)]);
    // Items before the chunk never read the target, and the input is not changed.
    expect(targetSourcesOf(out, 0)).toBeUndefined();
    expect(targetSourcesOf(items, 2)).toBeUndefined();
  });

  it('ignores anchors the old windows hold, and needs MIN_TARGET_VOTES anchors', () => {
    // The anchors pointing at block 60 are also in the old window (old blocks 0-3): only -90 is left.
    const inOld = run(1, votes + 1, votes);
    const out = addTargetSources(items, options(anchors([...earlier, ...chunk]), anchors(inOld)));
    expect(targetSourcesOf(out, 2)).toEqual([blocks(5, 20)]);
    // One anchor short of the threshold at each place: nothing.
    const few = anchors([...run(10, 1, votes - 1), ...run(60, votes + 1, votes - 1), ...chunk]);
    expect(targetSourcesOf(addTargetSources(items, options(few)), 2)).toBeUndefined();
  });

  it('reads only blocks earlier items write, and no window of more than 16 extents', () => {
    // Item 0 writes the even blocks 0-38 (one extent each), zero items after the chunk the odd ones.
    const even = Array.from({ length: 19 }, (_, i) => blocks(2 * i + 2, 1));
    const odd: PlanItem[] = Array.from({ length: 20 }, (_, i) => ({ kind: 'zero', dst: blocks(2 * i + 1, 1) }));
    const fragmented: PlanItem[] = [changed(blocks(0, 1), [], even), changed(blocks(100, 10)), ...odd];
    const points = anchors([...run(10, 1, votes), ...run(100, 1, votes)]);
    // A 40-block window (blocks 0-39) holds 20 one-block extents written before the chunk.
    expect(targetSourcesOf(addTargetSources(fragmented, options(points, anchors([]), 40)), 1)).toBeUndefined();
    // A 20-block window (5-24) holds 10 of them: read as they are.
    expect(targetSourcesOf(addTargetSources(fragmented, options(points)), 1)).toEqual(
      Array.from({ length: 10 }, (_, i) => blocks(2 * i + 6, 1)),
    );
    // With the odd blocks written before the chunk, the 40-block window is one extent.
    const whole: PlanItem[] = [changed(blocks(0, 1), [], even), ...odd, changed(blocks(100, 10))];
    expect(targetSourcesOf(addTargetSources(whole, options(points, anchors([]), 40)), 21)).toEqual([blocks(0, 40)]);
  });
});

describe('RawOutput.readBackInto', () => {
  const work = mkdtempSync(join(tmpdir(), 'ota-read-back-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('reads what was written, and zeros past the image end inside its last block', async () => {
    const sizeBytes = 2 * BS - 1000;
    const part = {
      name: 'system',
      target: { sizeBytes, sha256: new Uint8Array(32), version: '', dontCare: [] },
      operations: [],
    } as unknown as PartitionUpdate;
    const out = await RawOutput.open(join(work, 'out.img'), part, BS);
    try {
      const data = Buffer.alloc(2 * BS, 0xab);
      await out.write([blocks(0, 2)], data);
      const back = Buffer.alloc(2 * BS, 0x11);
      await out.readBackInto([blocks(1, 1), blocks(0, 1)], back);
      expect(back.subarray(0, BS - 1000).every((b) => b === 0xab)).toBe(true);
      expect(back.subarray(BS - 1000, BS).every((b) => b === 0)).toBe(true);
      expect(back.subarray(BS).every((b) => b === 0xab)).toBe(true);
      // readBack (what resume re-hashes) returns the bytes as written, padding included.
      expect((await out.readBack([blocks(1, 1)])).every((b) => b === 0xab)).toBe(true);
    } finally {
      await out.abort();
    }
  });
});

describe('targetReadWriters (which op an op reading back waits for)', () => {
  const replace = (dst: Extent[]): Operation => ({
    type: 'replace',
    dst,
    codec: 'none',
    blob: { offsetBytes: 0, sizeBytes: 1, sha256: new Uint8Array(32) },
    decoderMemoryBytes: 1,
  });
  const reading = (dst: Extent[], targetSrc: Extent[]): Operation => ({
    type: 'diff',
    dst,
    src: [],
    srcSha256: new Uint8Array(32),
    targetSrc,
    differ: 'bsdiff-lzma',
    blob: { offsetBytes: 0, sizeBytes: 1, sha256: new Uint8Array(32) },
    decoderMemoryBytes: 1,
  });

  it('is the highest index of an op writing a block read back, -1 for ops reading none back', () => {
    const ops = [
      replace([blocks(10, 5)]),
      replace([blocks(0, 10), blocks(30, 2)]),
      reading([blocks(15, 5)], [blocks(12, 2)]),
      reading([blocks(20, 10)], [blocks(8, 4), blocks(31, 1)]),
      reading([blocks(32, 8)], [blocks(0, 1)]),
    ];
    expect(Array.from(targetReadWriters(ops).lastWriter)).toEqual([-1, -1, 0, 1, 1]);
    expect(Array.from(targetReadWriters(ops.slice(0, 2)).lastWriter)).toEqual([-1, -1]);
  });
});
