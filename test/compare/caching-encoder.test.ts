// CachingEncoder must answer exactly as pipeline/encode-chunk.ts does — same candidates, same
// bytes, same order — for every kind of chunk and candidate set, the first time (computed) and
// the second time (from the cache). If encode-chunk's skip rules change, this test fails.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachingEncoder, scheduledMs } from '../../src/compare/caching-encoder.js';
import { zeroBlockShare } from '../../src/pipeline/encode-chunk.js';
import { CandidateCache } from '../../src/compare/candidate-cache.js';
import { encodeChunk } from '../../src/pipeline/encode-chunk.js';
import type { EncodeTask } from '../../src/pipeline/encode-task.js';
import { EncodePool } from '../../src/pipeline/encode-pool.js';
import { candidateLabel, type CandidateSpec } from '../../src/planner/candidates.js';
import { MINOR_DEFLATE_RECIPES } from '../../src/format/package-header.js';
import { resolveTargets } from '../../src/targets/target-registry.js';
import { textLike } from '../codecs/sample-data.js';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { filteredRaw, zlibWrapped } from '../helpers/zip-archive.js';
import { suiteSeed } from '../helpers/seeded-random.js';

const SEED = suiteSeed(0xcac4e);
const r = (codec: string, level: number): CandidateSpec => ({ kind: 'replace', codec, level });
const d = (differ: string): CandidateSpec => ({ kind: 'diff', differ });

const SPEC_SETS: Record<string, CandidateSpec[]> = {
  'build auto': [r('none', 0), r('gzip', 9), r('brotli', 9), r('zstd', 19), r('xz', 9), d('zstd-dict'), d('bsdiff')],
  'slow codecs only + both differs': [r('zstd', 19), r('xz', 6), d('zstd-dict'), d('bsdiff')],
  'one codec + bsdiff': [r('xz', 6), d('bsdiff')],
  'one codec + zstd-dict': [r('gzip', 6), d('zstd-dict')],
  'replace only': [r('zstd', 3)],
};

/** Chunks that take every branch: a small edit (diff wins big), a rewrite, no source, zero-heavy data. */
function chunks(): { name: string; newData: Buffer; sourceData: Buffer }[] {
  const base = syntheticImage(192 * 1024, SEED);
  const edited = applyEdits(
    base,
    [
      { kind: 'random', at: 5000, length: 300 },
      { kind: 'insert', at: 70000, length: 999 },
    ],
    SEED + 1,
  );
  const rewritten = applyEdits(base, [{ kind: 'random', at: 0, length: 120 * 1024 }], SEED + 2);
  const scattered = applyEdits(
    base,
    Array.from({ length: 30 }, (_, i) => ({ kind: 'random' as const, at: i * 6400 + 100, length: 200 })),
    SEED + 3,
  );
  const zeros = Buffer.concat([Buffer.alloc(96 * 1024), base.subarray(0, 96 * 1024)]);
  const zerosOld = Buffer.concat([base.subarray(0, 96 * 1024), Buffer.alloc(96 * 1024)]);
  return [
    { name: 'small edit', newData: edited, sourceData: base },
    { name: 'scattered edits', newData: scattered, sourceData: base },
    { name: 'mostly rewritten', newData: rewritten, sourceData: base },
    { name: 'no source', newData: edited, sourceData: Buffer.alloc(0) },
    { name: 'zero-heavy', newData: zeros, sourceData: zerosOld },
  ];
}

let dir: string;
let pool: EncodePool;
let cache: CandidateCache;
let encoder: CachingEncoder;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ota-caching-encoder-'));
  pool = EncodePool.create(2);
  cache = await CandidateCache.create(dir);
  encoder = new CachingEncoder(pool, cache);
});

afterAll(async () => {
  await pool?.close();
  await cache?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const summary = (cs: { spec: CandidateSpec; bytes: Uint8Array; decoderMemoryBytes: number }[]) =>
  cs.map((c) => ({
    label: candidateLabel(c.spec),
    bytes: Buffer.from(c.bytes).toString('base64'),
    decoderMemoryBytes: c.decoderMemoryBytes,
  }));

describe('CachingEncoder', () => {
  it('gives exactly what encodeChunk gives, computed and then cached, for every chunk kind and candidate set', async () => {
    const branches = new Set<string>();
    for (const chunk of chunks()) {
      for (const [setName, specs] of Object.entries(SPEC_SETS)) {
        for (const replaceRequired of [false, true]) {
          const task: EncodeTask = { newData: chunk.newData, sourceData: chunk.sourceData, specs, replaceRequired };
          const expected = summary(await encodeChunk(task));
          const labels = expected.map((c) => c.label);
          if (specs.some((s) => s.kind === 'replace' && !labels.includes(candidateLabel(s))))
            branches.add('slow codec skipped');
          if (labels.includes('diff/zstd-dict') && labels.includes('diff/bsdiff'))
            branches.add('bsdiff beside zstd-dict');
          if (
            labels.includes('diff/zstd-dict') &&
            specs.some((s) => s.kind === 'diff' && s.differ === 'bsdiff') &&
            !labels.includes('diff/bsdiff')
          )
            branches.add('bsdiff skipped');
          const where = `${chunk.name} / ${setName} / replaceRequired=${replaceRequired} (seed ${SEED})`;
          encoder.resetCosts();
          expect(summary(await encoder.encode(task)), `first: ${where}`).toEqual(expected);
          expect(summary(await encoder.encode(task)), `cached: ${where}`).toEqual(expected);
          expect(encoder.taskCostsMs, where).toHaveLength(2);
          // The cached answer costs what the computed one did.
          expect(encoder.taskCostsMs[1], where).toBeCloseTo(encoder.taskCostsMs[0]!, 6);
        }
      }
    }
    // The chunks exercise every skip rule (else the equivalence above proves little).
    expect([...branches].sort()).toEqual(['bsdiff beside zstd-dict', 'bsdiff skipped', 'slow codec skipped']);
  });

  it("makes a diff for the format minor the task's targets read, and never serves one made for other targets", async () => {
    // zlib streams of the filtered strategy, which no parameter search tries: format 1.7 re-makes
    // them from recipes, older targets keep them as bytes.
    const shared = textLike(30_000, 0x5eed);
    const stream = (seed: number) => zlibWrapped(filteredRaw(Buffer.concat([textLike(400, seed), shared])));
    const newData = Buffer.concat([1, 2, 3].map(stream));
    const sourceData = Buffer.from('an unrelated source');
    const [generic] = await resolveTargets('generic');
    const older = { ...generic!, id: 'older', maxFormatMinor: MINOR_DEFLATE_RECIPES - 1 };
    const specs = [d('deflate-aware'), r('xz', 6)];
    const minors: number[] = [];
    for (const targets of [[generic!], [older], [generic!]]) {
      const task: EncodeTask = { newData, sourceData, specs, replaceRequired: false, targets };
      const expected = await encodeChunk(task);
      const diff = expected.find((c) => c.spec.kind === 'diff');
      minors.push(diff?.formatMinor ?? 0);
      expect(summary(await encoder.encode(task)), targets[0]!.id).toEqual(summary(expected));
    }
    // The two kinds of target got different patches (else this proves nothing).
    expect(minors).toEqual([MINOR_DEFLATE_RECIPES, 0, MINOR_DEFLATE_RECIPES]);
  });

  it("returns candidates carrying the caller's own spec objects (encodePlan matches them by identity)", async () => {
    const [chunk] = chunks();
    const specs = SPEC_SETS['one codec + bsdiff']!;
    const out = await encoder.encode({
      newData: chunk!.newData,
      sourceData: chunk!.sourceData,
      specs,
      replaceRequired: false,
    });
    for (const c of out) expect(specs).toContain(c.spec);
  });

  it("moves a handed-over task's buffers to the worker (no copy): same candidates, the caller's views emptied", async () => {
    const [chunk] = chunks();
    const specs = SPEC_SETS['build auto']!;
    const kept: EncodeTask = { newData: chunk!.newData, sourceData: chunk!.sourceData, specs, replaceRequired: false };
    const expected = summary(await pool.encode(kept));
    expect(kept.newData.byteLength).toBe(chunk!.newData.length); // not handed over: still there
    const moved: EncodeTask = {
      ...kept,
      newData: new Uint8Array(kept.newData),
      sourceData: new Uint8Array(kept.sourceData),
      handedOver: true,
    };
    expect(summary(await pool.encode(moved))).toEqual(expected);
    expect([moved.newData.byteLength, moved.sourceData.byteLength]).toEqual([0, 0]);
  });

  it('works on as many tasks at once as the encoder it wraps (encodePlan sizes its window by it)', () => {
    expect(pool.jobs).toBe(2);
    expect(encoder.jobs).toBe(pool.jobs);
  });

  it('the zero-block share matches the rule encode-chunk uses', () => {
    const z = Buffer.alloc(4096);
    const nz = Buffer.alloc(4096, 1);
    expect(zeroBlockShare(Buffer.concat([z, nz]), Buffer.concat([nz, nz]))).toBe(0.25);
    expect(zeroBlockShare(Buffer.alloc(0), Buffer.alloc(100))).toBe(0);
  });
});

describe('scheduledMs', () => {
  it('hands tasks in order to the first free worker', () => {
    expect(scheduledMs([], 2)).toBe(0);
    expect(scheduledMs([5, 5, 5, 5], 2)).toBe(10);
    expect(scheduledMs([10, 1, 1, 1], 2)).toBe(10);
    expect(scheduledMs([3, 4, 5], 1)).toBe(12);
    expect(scheduledMs([1, 1, 8], 2)).toBe(9);
  });
});
