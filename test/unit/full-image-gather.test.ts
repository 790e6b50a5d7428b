// The full-image path (no old image): content classes (hashing/content-sketch.ts), the gathering
// of alike segments into one chunk (planner/gather-similar.ts), and the slow codecs a full-image
// chunk gets (pipeline/full-image-rules.ts fullImageSlowCodecs).

import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { contentClassOf, sketchSegment } from '../../src/hashing/content-sketch.js';
import { gatherSimilar, type SketchedSegment } from '../../src/planner/gather-similar.js';
import { fullImageSlowCodecs } from '../../src/pipeline/full-image-rules.js';
import { resolveTargets } from '../../src/targets/target-registry.js';
import type { CandidateSpec } from '../../src/planner/candidates.js';
import type { Extent } from '../../src/model/extent.js';
import { elfChunk, randomBytes, textLike } from '../codecs/sample-data.js';

const KiB = 1024;
type ReplaceSpec = Extract<CandidateSpec, { kind: 'replace' }>;
const SLOW: ReplaceSpec[] = [
  { kind: 'replace', codec: 'xz', level: 9 },
  { kind: 'replace', codec: 'zstd', level: 19 },
  { kind: 'replace', codec: 'brotli', level: 11 },
];

describe('content classes', () => {
  it('tells text, x86 code and other binary apart', () => {
    expect(contentClassOf(textLike(256 * KiB, 4))).toBe('text');
    expect(contentClassOf(randomBytes(256 * KiB, 5))).toBe('binary');
    expect(contentClassOf(elfChunk(256 * KiB))).toBe('x86');
  });

  it('marks compressed content dense, and text and code not', () => {
    expect(sketchSegment(deflateRawSync(textLike(512 * KiB, 6))).dense).toBe(true);
    expect(sketchSegment(randomBytes(64 * KiB, 6)).dense).toBe(true);
    expect(sketchSegment(textLike(64 * KiB, 6)).dense).toBe(false);
    expect(sketchSegment(elfChunk(64 * KiB)).dense).toBe(false);
    expect(sketchSegment(Buffer.alloc(64 * KiB)).dense).toBe(false);
  });
});

describe('gatherSimilar', () => {
  /** Segments of 16 blocks: text A, random, random, text A again (far away), random. */
  function segments(): SketchedSegment[] {
    const a = textLike(64 * KiB, 7);
    const contents = [a, randomBytes(64 * KiB, 8), randomBytes(64 * KiB, 9), Buffer.from(a), randomBytes(64 * KiB, 10)];
    return contents.map((data, k) => ({
      dst: { startBlock: 100 + k * 40, blockCount: 16 },
      sketch: sketchSegment(data),
    }));
  }
  const gathered = (items: ReturnType<typeof gatherSimilar>): Extent[][] =>
    items.flatMap((i) => (i.kind === 'gathered' ? [[...i.dst]] : []));

  it('puts far-apart alike segments in one chunk, within the op size, covering every segment once', () => {
    const segs = segments();
    const chunks = gathered(gatherSimilar([], segs, 32));
    const withA = chunks.find((c) => c.some((e) => e.startBlock === 100))!;
    expect(withA.map((e) => e.startBlock)).toContain(220);
    for (const c of chunks) expect(c.reduce((t, e) => t + e.blockCount, 0)).toBeLessThanOrEqual(32);
    const starts = chunks
      .flat()
      .map((e) => e.startBlock)
      .sort((x, y) => x - y);
    expect(starts).toEqual(segs.map((s) => s.dst.startBlock));
  });

  it('keeps zero items and orders all items by their first block', () => {
    const zero = { kind: 'zero', dst: { startBlock: 0, blockCount: 100 } } as const;
    const items = gatherSimilar([zero], segments(), 1024);
    expect(items[0]).toEqual(zero);
    const firsts = items.map((i) =>
      i.kind === 'gathered' ? i.dst[0]!.startBlock : i.kind === 'zero' ? i.dst.startBlock : -1,
    );
    expect(firsts).toEqual([...firsts].sort((x, y) => x - y));
  });

  it('keeps chunks of dense segments within their own limit', () => {
    // Eight alike segments of 16 blocks (copies of one text, or of one deflate stream): the text
    // fills chunks of 64 blocks, the deflated content chunks of 32 (64 without a dense limit).
    const chunkSizes = (data: Buffer, maxDenseBlocks?: number) =>
      gathered(
        gatherSimilar(
          [],
          Array.from({ length: 8 }, (_, k) => ({
            dst: { startBlock: k * 16, blockCount: 16 },
            sketch: sketchSegment(data),
          })),
          64,
          maxDenseBlocks,
        ),
      ).map((c) => c.reduce((t, e) => t + e.blockCount, 0));
    expect(chunkSizes(textLike(64 * KiB, 11), 32)).toEqual([64, 64]);
    const deflated = deflateRawSync(textLike(512 * KiB, 11)).subarray(0, 64 * KiB);
    expect(chunkSizes(deflated, 32)).toEqual([32, 32, 32, 32]);
    expect(chunkSizes(deflated)).toEqual([64, 64]);
  });

  it('never gathers x86 code with other content', () => {
    const code = elfChunk(64 * KiB);
    const segs = [code, textLike(64 * KiB, 3)].map((data, k) => ({
      dst: { startBlock: k * 16, blockCount: 16 },
      sketch: sketchSegment(data),
    }));
    expect(gathered(gatherSimilar([], segs, 1024))).toHaveLength(2);
  });
});

describe('fullImageSlowCodecs', () => {
  it('gives text and binary to the first codec (by probeOrder) suited to them: xz', async () => {
    const targets = await resolveTargets('generic');
    const task = (newData: Uint8Array) => ({
      newData,
      sourceData: new Uint8Array(),
      specs: SLOW,
      replaceRequired: false,
      targets,
      fullImage: true,
    });
    expect(fullImageSlowCodecs(task(textLike(64 * KiB, 1)), SLOW).map((s) => s.codec)).toEqual(['xz']);
    expect(fullImageSlowCodecs(task(randomBytes(64 * KiB, 2)), SLOW).map((s) => s.codec)).toEqual(['xz']);
  });

  it('adds the best codec a target allows when it does not allow the suited one', async () => {
    const [generic] = await resolveTargets('generic');
    const noXz = { ...generic!, id: 'no-xz', allowedCodecs: generic!.allowedCodecs.filter((c) => c !== 'xz') };
    const targets = [generic!, noXz]; // text: xz for generic, brotli (also suited to text) for no-xz
    const task = {
      newData: textLike(64 * KiB, 1),
      sourceData: new Uint8Array(),
      specs: SLOW,
      replaceRequired: false,
      targets,
      fullImage: true,
    };
    expect(fullImageSlowCodecs(task, SLOW).map((s) => s.codec)).toEqual(['xz', 'brotli']);
  });
});
