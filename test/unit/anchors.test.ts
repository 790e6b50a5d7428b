// Content-defined anchors: the sampler gives the same anchors however an image's bytes are fed
// to it, and an anchor's fingerprint depends only on its 32-byte window; moved data is found
// through them: a chunk whose content moved 40 MiB away in the old image (and was edited, with a
// 100-byte insert so nothing is block-aligned) is encoded as a small DIFF — where a same-offset
// dictionary would find only zeros.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPackage, buildPackages } from '../../src/index.js';
import { AnchorIndex } from '../../src/hashing/anchor-index.js';
import { AnchorSampler } from '../../src/hashing/anchor-sampler.js';
import { mulberry32 } from '../../src/hashing/mulberry32.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { syntheticImage } from '../helpers/edit-images.js';

const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), 'ota-anchors-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function anchorsOf(data: Buffer) {
  const s = new AnchorSampler();
  s.feed(0, data);
  return s.finish();
}

describe('anchors', () => {
  it('the same content gives the same anchors wherever it sits', () => {
    const content = syntheticImage(256 * 1024, 1);
    const a = anchorsOf(content);
    const b = anchorsOf(Buffer.concat([Buffer.alloc(12_345, 7), content]));
    expect(a.count).toBeGreaterThan(100);
    const shifted = new Set(Array.from(b.positions, (p) => p - 12_345));
    const kept = Array.from(a.positions).filter((p) => p > 64 && shifted.has(p)).length;
    expect(kept / a.count).toBeGreaterThan(0.95);
  });

  it('gives the same anchors however the bytes are split into feeds (a fingerprint spans feeds)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 64 }), (seed, maxPieceBytes) => {
        const next = mulberry32(seed);
        // syntheticImage can be all zero runs for some seeds (181371 is); 8 KiB of seeded noise
        // in the middle gives every case anchors to compare.
        const noise = Buffer.from(Uint32Array.from({ length: 2048 }, () => next()).buffer);
        const data = Buffer.concat([syntheticImage(20 * 1024, seed), noise, syntheticImage(20 * 1024, seed + 1)]);
        // Pieces of 1..maxPieceBytes bytes (some far larger), some of them skipped (zero blocks): the
        // state resets there, as it does after a gap in the offsets.
        const pieces: { at: number; end: number; skip: boolean }[] = [];
        for (let at = 0; at < data.length;) {
          const sizeBytes = next() % 8 === 0 ? 1 + (next() % 5000) : 1 + (next() % maxPieceBytes);
          const end = Math.min(data.length, at + sizeBytes);
          pieces.push({ at, end, skip: next() % 50 === 0 });
          at = end;
        }
        const split = new AnchorSampler();
        for (const p of pieces) split.feed(p.at, data.subarray(p.at, p.end), p.skip);
        // The reference: each run between skips fed whole.
        const whole = new AnchorSampler();
        let runStart = 0;
        for (const [k, p] of pieces.entries()) {
          if (p.skip) {
            if (p.at > runStart) whole.feed(runStart, data.subarray(runStart, p.at));
            whole.feed(p.at, data.subarray(p.at, p.end), true);
            runStart = p.end;
          } else if (k === pieces.length - 1) whole.feed(runStart, data.subarray(runStart, p.end));
        }
        const a = split.finish();
        const b = whole.finish();
        expect(a.count).toBeGreaterThan(0);
        expect(Array.from(a.positions)).toEqual(Array.from(b.positions));
        expect(Array.from(a.fingerprints)).toEqual(Array.from(b.fingerprints));
      }),
      { numRuns: 40, examples: [[181371, 1]] },
    );
  });

  it('its anchors are the two gear hashes rolled over every byte (the fingerprint is computed only at anchors, to the same value)', () => {
    // The definition: gear tables from mulberry32 with these seeds, both hashes rolled as
    // h = (h << 1) + table[byte] on 32 bits, reset to 0 at a skip or a gap; an anchor where the
    // selector's top 10 bits are zero, with the print hash as its fingerprint. Feeds are mostly
    // 0-40 bytes, so a fingerprint's 32-byte window often spans several of them.
    const table = (seed: number) => {
      const next = mulberry32(seed);
      return Int32Array.from({ length: 256 }, () => next());
    };
    const select = table(0x0a5c4e1d);
    const print = table(0x7f4a7c15);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const next = mulberry32(seed);
        const data = Buffer.from(Uint32Array.from({ length: 16 * 1024 }, () => next()).buffer);
        const sampler = new AnchorSampler();
        const want: [number, number][] = [];
        let s = 0;
        let p = 0;
        let expectedAt = 0;
        for (let at = 0; at < data.length;) {
          // Now and then a gap: bytes never fed, so the next feed's offset does not follow on.
          if (next() % 15 === 0) at = Math.min(data.length, at + 1 + (next() % 100));
          const sizeBytes = next() % 10 === 0 ? next() % 3000 : next() % 41;
          const end = Math.min(data.length, at + sizeBytes);
          const skip = next() % 10 === 0;
          sampler.feed(at, data.subarray(at, end), skip);
          if (skip || at !== expectedAt) [s, p] = [0, 0];
          if (!skip)
            for (let i = at; i < end; i++) {
              s = ((s << 1) + select[data[i]!]!) | 0;
              p = ((p << 1) + print[data[i]!]!) | 0;
              if (s >>> 22 === 0) want.push([i + 1, p >>> 0]);
            }
          expectedAt = end;
          at = end;
        }
        const got = sampler.finish();
        expect(want.length).toBeGreaterThan(10);
        expect(Array.from(got.positions)).toEqual(want.map(([position]) => position));
        expect(Array.from(got.fingerprints)).toEqual(want.map(([, fingerprint]) => fingerprint));
      }),
      { numRuns: 20 },
    );
  });

  it('an anchor fingerprints its 32 bytes only: the same window after other bytes prints the same', () => {
    const content = syntheticImage(64 * 1024, 9);
    const a = anchorsOf(content);
    const b = anchorsOf(Buffer.concat([syntheticImage(777, 10), content]));
    const printOf = (l: ReturnType<typeof anchorsOf>) =>
      new Map(Array.from(l.positions, (p, i) => [p, l.fingerprints[i]]));
    const pa = printOf(a);
    const pb = printOf(b);
    let compared = 0;
    for (const [p, f] of pa) {
      if (p < 32) continue;
      expect(pb.get(p + 777)).toBe(f);
      compared++;
    }
    expect(compared).toBeGreaterThan(10);
  });

  it('votes for the displacement of moved data', () => {
    const content = syntheticImage(512 * 1024, 2);
    const old = Buffer.concat([Buffer.alloc(3 * MiB, 0x11), content]);
    const next = Buffer.concat([Buffer.alloc(1 * MiB, 0x22), content]);
    const index = new AnchorIndex(anchorsOf(old));
    const [best] = index.likelyDisplacements(anchorsOf(next), 1 * MiB, 1 * MiB + content.length, 2, 4096);
    expect(best).toBe(2 * MiB);
  });

  it('a chunk moved 40 MiB away and edited is encoded as a small DIFF', async () => {
    const region = syntheticImage(MiB, 3);
    const old = Buffer.alloc(64 * MiB);
    region.copy(old, 45 * MiB);
    const edited = Buffer.concat([
      region.subarray(0, 300_000),
      Buffer.alloc(100, 0x5a),
      region.subarray(300_000, MiB - 100),
    ]);
    for (let i = 0; i < 50; i++) edited[i * 20_000 + 7] = edited[i * 20_000 + 7]! ^ 0xff;
    const next = Buffer.alloc(64 * MiB);
    edited.copy(next, 5 * MiB);
    writeFileSync(join(work, 'old.img'), old);
    writeFileSync(join(work, 'new.img'), next);
    const built = await buildPackages({
      oldPath: join(work, 'old.img'),
      newPath: join(work, 'new.img'),
      outDir: join(work, 'out'),
      targets: 'generic',
      jobs: 1,
      timestampSeconds: 1,
      codec: 'zstd',
      differ: 'zstd-dict',
    });
    const pkg = built.packages[0]!;
    const reader = await PackageReader.open(pkg.path);
    await reader.close();
    const diffs = reader.manifest.partitions[0]!.operations.filter((op) => op.type === 'diff');
    expect(diffs.length).toBeGreaterThan(0);
    // Every diff reads from around 45 MiB, i.e. ~40 MiB away from where it writes.
    for (const op of diffs) {
      if (op.type !== 'diff') continue;
      expect(
        op.src.some((e) => e.startBlock * 4096 >= 44 * MiB && e.startBlock * 4096 < 47 * MiB),
        JSON.stringify(op.src),
      ).toBe(true);
    }
    const diffBytes = diffs.reduce((n, op) => n + (op.type === 'diff' ? op.blob.sizeBytes : 0), 0);
    expect(diffBytes).toBeLessThan(MiB / 50);
    await applyPackage({
      packagePath: pkg.path,
      oldPath: join(work, 'old.img'),
      outputPath: join(work, 'applied.img'),
    });
    expect(readFileSync(join(work, 'applied.img')).equals(next)).toBe(true);
  }, 120_000);
});
