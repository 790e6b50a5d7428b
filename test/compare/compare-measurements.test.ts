// compareCodecs measures real packages: each reported size is the size of the package it
// produced (kept in the onPackage hook before deletion), the best is the real minimum, the
// percentages follow from them, forbidden combinations are measured and flagged, and the
// packages are byte-identical to what `build` makes with the same candidates.

import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCodecs, FULL_BASELINE } from '../../src/compare/compare-codecs.js';
import { bestValues, type CompareResult, entryForOutput } from '../../src/compare/compare-result.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { buildPackages } from '../../src/pipeline/build-packages.js';
import { textLike } from '../codecs/sample-data.js';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { suiteSeed } from '../helpers/seeded-random.js';
import { filteredRaw, zlibWrapped } from '../helpers/zip-archive.js';

const SEED = suiteSeed(0xc0a1e);
const BS = 4096;
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let work: string;
let tempRoot: string;
let keep: string;
let oldPath: string;
let newPath: string;
/** A small image of deflate streams (see beforeAll). */
let streamsPath: string;
let newSize: number;
/** Size of each package when the hook saw it, by combination. */
const hookSizes = new Map<string, number>();
let delta: CompareResult;

const ran = (r: CompareResult) => r.entries.filter((e) => e.applicable);
const entry = (r: CompareResult, label: string) => r.entries.find((e) => e.combination === label)!;
const kept = (label: string) => join(keep, `${label}.otapkg`);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ota-compare-measure-'));
  tempRoot = join(work, 'tmp');
  keep = join(work, 'kept');
  mkdirSync(tempRoot);
  mkdirSync(keep);
  const old = syntheticImage(768 * 1024, SEED);
  const next = applyEdits(
    old,
    [
      { kind: 'move', from: 160 * BS, to: 20 * BS, length: 16 * BS }, // block-aligned: moved copies
      { kind: 'random', at: 300_000, length: 5000 },
      { kind: 'zero', at: 500_000, length: 40_000 },
      { kind: 'random', at: 700_000, length: 60_000 },
    ],
    SEED + 1,
  );
  // New zlib streams that only a recipe re-makes (the filtered strategy no parameter search
  // tries): deflate-aware diffs them inflated (with a source; and from none, where they are most
  // of a chunk: streamsPath, a full package's DIFF op).
  const shared = syntheticImage(48 * 1024, SEED + 2);
  const streams = Buffer.concat(
    [1, 2, 3, 4, 5, 6].map((i) => zlibWrapped(filteredRaw(Buffer.concat([textLike(300, SEED + i), shared])))),
  );
  streamsPath = join(work, 'streams.img');
  writeFileSync(streamsPath, Buffer.concat([streams, Buffer.alloc(BS - (streams.length % BS))]));
  next.set(streams, 560_000);
  oldPath = join(work, 'old.img');
  newPath = join(work, 'new.img');
  writeFileSync(oldPath, old);
  writeFileSync(newPath, next);
  newSize = next.length;
  delta = await compareCodecs({
    oldPath,
    newPath,
    target: 'unisoc',
    codecs: 'none,gzip,brotli,zstd,xz',
    levels: 'gzip=6;brotli=5;zstd=3;xz=1',
    jobs: 2,
    tempDir: tempRoot,
    onPackage: (label, path) => {
      hookSizes.set(label, statSync(path).size);
      copyFileSync(path, kept(label));
    },
  });
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('compare (delta, unisoc)', () => {
  it('reports one entry per combination, in run order, and removes its temp folder', () => {
    expect(delta.entries.map((e) => e.combination)).toEqual([
      'none',
      'gzip-6',
      'brotli-5',
      'zstd-3',
      'xz-1',
      expect.stringMatching(/^bsdiff-lzma\+/),
      expect.stringMatching(/^zstd-dict\+/),
      expect.stringMatching(/^bsdiff\+/),
      expect.stringMatching(/^bsdf2\+/),
      expect.stringMatching(/^deflate-aware\+/),
      expect.stringMatching(/^exec-aware\+/),
      'auto',
    ]);
    expect(delta).toMatchObject({ kind: 'delta', target: 'unisoc', jobs: 2 });
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it('each size is the size of the package actually produced, and decoder memory is what its manifest declares', async () => {
    for (const e of ran(delta)) {
      expect(e.packageBytes, e.combination).toBe(hookSizes.get(e.combination));
      expect(statSync(kept(e.combination)).size, e.combination).toBe(e.packageBytes);
      const reader = await PackageReader.open(kept(e.combination));
      await reader.close();
      expect(e.decoderMemoryBytes, e.combination).toBe(reader.manifest.maxDecoderMemoryBytes);
      expect(e.buildMs, e.combination).toBeGreaterThan(0);
      expect(e.applyMs, e.combination).toBeGreaterThanOrEqual(0);
    }
  });

  it('the best values are the real minima over the combinations the target allows', () => {
    const allowed = ran(delta).filter((e) => e.allowed);
    const best = bestValues(delta.entries);
    expect(best.packageBytes).toBe(Math.min(...allowed.map((e) => e.packageBytes!)));
    expect(best.buildMs).toBe(Math.min(...allowed.map((e) => e.buildMs!)));
    expect(best.applyMs).toBe(Math.min(...allowed.map((e) => e.applyMs!)));
    expect(best.decoderMemoryBytes).toBe(Math.min(...allowed.map((e) => e.decoderMemoryBytes!)));
    // Delta packages beat replacing every changed block.
    expect(entry(delta, 'auto').packageBytes!).toBeLessThan(entry(delta, 'none').packageBytes!);
  });

  it('percentages follow from the sizes (4 decimals as JSON and CSV print them); best full is the baseline full package it built', () => {
    expect(delta.bestFull).toEqual({ combination: FULL_BASELINE, packageBytes: hookSizes.get(FULL_BASELINE) });
    for (const e of ran(delta)) {
      expect(e.percentOfNew, e.combination).toBeCloseTo((100 * e.packageBytes!) / newSize, 10);
      expect(e.percentOfBestFull, e.combination).toBeCloseTo(
        (100 * e.packageBytes!) / delta.bestFull!.packageBytes,
        10,
      );
      const printed = entryForOutput(e);
      expect(printed.percentOfNew).toBeCloseTo(e.percentOfNew!, 4);
      expect(String(printed.percentOfNew)).toMatch(/^\d+(\.\d{1,4})?$/);
      expect(printed.percentOfBestFull).toBeCloseTo(e.percentOfBestFull!, 4);
      expect(printed.packageBytes).toBe(e.packageBytes);
      expect(e.bestFullBytes).toBe(delta.bestFull!.packageBytes);
    }
  });

  it('a combination the target forbids is measured anyway and flagged with the reason', () => {
    const brotli = entry(delta, 'brotli-5');
    expect(brotli).toMatchObject({
      allowed: false,
      applicable: true,
      reason: 'unisoc does not allow codec brotli (allowed: none, gzip, zstd, xz)',
    });
    expect(brotli.packageBytes).toBeGreaterThan(0);
    for (const e of ran(delta).filter((x) => x !== brotli))
      expect(e, e.combination).toMatchObject({ allowed: true, reason: null });
    // A differ falls back to the smallest replace-only combination the target allows, never a forbidden one.
    const replaceAllowed = ran(delta).filter((e) => e.kind === 'replace' && e.allowed);
    const smallest = replaceAllowed.reduce((a, b) => (b.packageBytes! < a.packageBytes! ? b : a));
    for (const d of ran(delta).filter((e) => e.kind === 'diff')) {
      expect(d.combination).toBe(`${d.differ}+${smallest.combination}`);
      expect(d.candidates).toEqual([`replace/${smallest.codec}-${smallest.level}`, `diff/${d.differ}`]);
    }
  });

  it("with no replace-only combination allowed, a differ falls back to auto's codecs only (no other differ)", async () => {
    const r = await compareCodecs({
      oldPath,
      newPath,
      target: 'unisoc',
      codecs: 'brotli',
      levels: 'brotli=5',
      differs: 'bsdiff,deflate-aware',
      jobs: 2,
      tempDir: tempRoot,
    });
    const codecs = ['replace/none-0', 'replace/gzip-9', 'replace/zstd-19', 'replace/xz-9'];
    expect(r.entries.map((e) => [e.combination, e.candidates])).toEqual([
      ['brotli-5', ['replace/brotli-5']],
      ['bsdiff+auto', [...codecs, 'diff/bsdiff']],
      ['deflate-aware+auto', [...codecs, 'diff/deflate-aware']],
      ['auto', [...codecs, 'diff/bsdiff', 'diff/deflate-aware']],
    ]);
    expect(entry(r, 'brotli-5').allowed).toBe(false);
  });

  it('packages are byte-identical to `build` with the same candidates (auto, differs, the full baseline)', async () => {
    const out = (name: string) => join(work, 'build', name);
    const bsdiff = ran(delta).find((e) => e.differ === 'bsdiff')!;
    const builds: [string, Parameters<typeof buildPackages>[0]][] = [
      ['auto', { oldPath, newPath, outDir: out('auto'), targets: 'unisoc', timestampSeconds: 0, jobs: 2 }],
      [
        bsdiff.combination,
        {
          oldPath,
          newPath,
          outDir: out('bsdiff'),
          targets: 'unisoc',
          codec: bsdiff.codec!,
          level: bsdiff.level!,
          differ: 'bsdiff',
          timestampSeconds: 0,
          jobs: 2,
        },
      ],
      [FULL_BASELINE, { newPath, outDir: out('full'), targets: 'unisoc', timestampSeconds: 0, jobs: 1 }],
    ];
    // The content-specific differs too (deflate-aware: zip members kept whole).
    for (const differ of ['deflate-aware', 'exec-aware'] as const) {
      const e = ran(delta).find((c) => c.differ === differ)!;
      builds.push([
        e.combination,
        {
          oldPath,
          newPath,
          outDir: out(differ),
          targets: 'unisoc',
          codec: e.codec!,
          level: e.level!,
          differ,
          timestampSeconds: 0,
          jobs: 2,
        },
      ]);
    }
    for (const [label, options] of builds) {
      const built = await buildPackages(options);
      expect(sha256(built.packages[0]!.path), label).toBe(sha256(kept(label)));
    }
  });

  it('the block map comes from the auto package and shows moved, diffed and zero blocks', () => {
    const map = delta.blockMap!;
    expect(map.blockCount).toBe(newSize / BS);
    expect(map.totals.copied).toBeGreaterThan(0);
    expect(map.totals.unchanged).toBeGreaterThan(0);
    expect(map.totals.zero).toBeGreaterThan(0);
    expect(map.totals.diffed + map.totals.replaced).toBeGreaterThan(0);
    expect(Object.values(map.totals).reduce((a, b) => a + b, 0)).toBe(map.blockCount);
  });
});

describe('compare (full packages, and limits only a run can show)', () => {
  it('without --old: only differs that work without a source apply, best full is the smallest allowed package', async () => {
    const full = new Map<string, string>();
    // A target allowing the compared codecs only: its auto and build's try the same candidates.
    const generic = JSON.parse(readFileSync(new URL('../../profiles/generic.json', import.meta.url), 'utf8'));
    const target = join(work, 'gzip-zstd.json');
    writeFileSync(
      target,
      JSON.stringify({ ...generic, id: 'gzip-zstd', aliases: [], allowedCodecs: ['gzip', 'zstd'] }),
    );
    const r = await compareCodecs({
      newPath: streamsPath,
      target,
      codecs: 'gzip,zstd',
      levels: 'gzip=6;zstd=3',
      jobs: 1,
      tempDir: tempRoot,
      onPackage: (label, path) => {
        full.set(label, join(work, `full-${label}.otapkg`));
        copyFileSync(path, full.get(label)!);
      },
    });
    expect(r.kind).toBe('full');
    expect(r.entries.map((e) => [e.combination, e.applicable])).toEqual([
      ['gzip-6', true],
      ['zstd-3', true],
      ['bsdiff-lzma', false],
      ['zstd-dict', false],
      ['bsdiff', false],
      ['bsdf2', false],
      ['deflate-aware+zstd-3', true],
      ['exec-aware', false],
      ['auto', true],
    ]);
    for (const e of r.entries.filter((x) => !x.applicable)) {
      expect(e).toMatchObject({
        packageBytes: null,
        buildMs: null,
        applyMs: null,
        percentOfBestFull: null,
        reason: `not applicable without --old: ${e.differ} needs an old image to diff against`,
      });
    }
    // The zlib streams diffed inflated from no source make the smaller full package.
    expect(entry(r, 'deflate-aware+zstd-3').packageBytes!).toBeLessThan(entry(r, 'zstd-3').packageBytes!);
    // auto is what build makes without --old, and a differ's row what build makes with it alone.
    const builds: [string, Partial<Parameters<typeof buildPackages>[0]>][] = [
      ['auto', {}],
      ['deflate-aware+zstd-3', { codec: 'zstd', level: 3, differ: 'deflate-aware' }],
    ];
    for (const [label, choice] of builds) {
      const built = await buildPackages({
        newPath: streamsPath,
        outDir: join(work, 'build', `full-${label}`),
        targets: target,
        timestampSeconds: 0,
        jobs: 1,
        ...choice,
      });
      expect(sha256(built.packages[0]!.path), label).toBe(sha256(full.get(label)!));
    }
    const smallest = Math.min(...ran(r).map((e) => e.packageBytes!));
    expect(r.bestFull!.packageBytes).toBe(smallest);
    expect(entry(r, r.bestFull!.combination).percentOfBestFull).toBe(100);
    // Nothing is kept or copied from an old image; auto's DIFF op is deflate-aware's, from no source.
    expect(r.blockMap!.totals).toMatchObject({ unchanged: 0, copied: 0 });
    expect(r.blockMap!.totals.diffed).toBeGreaterThan(0);
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it('a combination whose decoder needs more memory than the target has is flagged after the run, not dropped', async () => {
    const profile = JSON.parse(readFileSync(new URL('../../profiles/generic.json', import.meta.url), 'utf8'));
    const profilePath = join(work, 'tiny-ram.json');
    writeFileSync(
      profilePath,
      JSON.stringify({
        ...profile,
        id: 'tiny-ram',
        aliases: [],
        decoderMemoryLimitBytes: 1024 * 1024,
        maxOperationBytes: 1024 * 1024,
      }),
    );
    const text = Buffer.alloc(1024 * 1024);
    for (let at = 0; at < text.length; at += 16) text.write(`line ${at % 977} ok\n`.padEnd(16), at, 'latin1');
    const textPath = join(work, 'text.img');
    writeFileSync(textPath, text);
    const r = await compareCodecs({
      newPath: textPath,
      target: profilePath,
      codecs: 'gzip,xz',
      levels: 'gzip=6;xz=6',
      differs: 'none',
      jobs: 1,
      tempDir: tempRoot,
    });
    const xz = entry(r, 'xz-6');
    expect(xz.allowed).toBe(false);
    expect(xz.reason).toMatch(/no allowed encoding/);
    expect(xz.reason).toMatch(/decoder memory; tiny-ram allows 1048576/);
    expect(xz.decoderMemoryBytes!).toBeGreaterThan(1024 * 1024);
    expect(entry(r, 'gzip-6')).toMatchObject({ allowed: true, reason: null });
    expect(entry(r, 'auto')).toMatchObject({ allowed: true, reason: null });
    expect(entry(r, 'auto').decoderMemoryBytes!).toBeLessThanOrEqual(1024 * 1024);
  });
});
