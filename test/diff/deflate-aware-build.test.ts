// End to end through the library: an APK-like image whose changed zip member (about 1.4 MB
// deflated) is longer than the 1 MiB chunk. The planner keeps it whole in one op (zip member
// spans), the deflate-aware differ re-deflates it, and the package applies to the exact new image.
// `compare` plans the same way for a combination with that differ: it measures what `build` makes.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPackage, buildPackages, compareCodecs, inspectPackage } from '../../src/index.js';
import { prng } from '../codecs/sample-data.js';
import { zipArchive, type ZipMember } from '../helpers/zip-archive.js';

const work = mkdtempSync(join(tmpdir(), 'ota-deflate-build-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const quiet = { warn() {}, progress() {} };

/** Text from a 4000-word vocabulary: deflates to about a third. */
function words(sizeBytes: number, seed: number): Buffer {
  const next = prng(seed);
  const vocabulary = Array.from({ length: 4000 }, (_, i) => `w${(i * 7919) % 100_003}`);
  const parts: string[] = [];
  let length = 0;
  while (length < sizeBytes) {
    const w = vocabulary[Math.floor(next() * vocabulary.length)]!;
    parts.push(w);
    length += w.length + 1;
  }
  return Buffer.from(parts.join(' ')).subarray(0, sizeBytes);
}

function image(members: ZipMember[]): Buffer {
  const out = Buffer.alloc(8 * 1024 * 1024);
  zipArchive(members).copy(out, 64 * 1024);
  return out;
}

const oldPath = join(work, 'old.img');
const newPath = join(work, 'new.img');
let newImage: Buffer;

beforeAll(() => {
  const big = words(4_000_000, 101);
  const members: ZipMember[] = [
    { name: 'res/a.txt', data: words(300_000, 102), level: 6 },
    { name: 'classes.dex', data: big, level: 6 },
    { name: 'res/b.txt', data: words(300_000, 103), level: 6 },
  ];
  const edited = Buffer.from(big);
  edited.write('EDITED', 2_000_000);
  writeFileSync(oldPath, image(members));
  newImage = image(members.map((m) => (m.name === 'classes.dex' ? { ...m, data: edited } : m)));
  writeFileSync(newPath, newImage);
});

describe('deflate-aware in a build', () => {
  it('keeps a changed zip member longer than a chunk in one op and re-deflates it exactly', async () => {
    const built = await buildPackages({
      oldPath,
      newPath,
      outDir: join(work, 'out'),
      targets: 'generic',
      timestampSeconds: 1,
      jobs: 1,
      reporter: quiet,
    });
    const pkg = built.packages[0]!;
    const info = await inspectPackage({ packagePath: pkg.path, reporter: quiet });
    const deflate = info.partitions[0]!.byEncoding['differ:deflate-aware'];
    // One op covers the whole member, past the 1 MiB chunk.
    expect(deflate?.dstBytes).toBeGreaterThan(1024 * 1024);
    expect(pkg.sizeBytes).toBeLessThan(64 * 1024);
    const outputPath = join(work, 'applied.img');
    await applyPackage({ packagePath: pkg.path, oldPath, outputPath });
    expect(readFileSync(outputPath).equals(newImage)).toBe(true);
  }, 120_000);

  it('compare measures the package build makes with the same candidates (members kept whole too)', async () => {
    const built = await buildPackages({
      oldPath,
      newPath,
      outDir: join(work, 'out-xz'),
      targets: 'generic',
      codec: 'xz',
      level: 6,
      differ: 'deflate-aware',
      timestampSeconds: 1,
      jobs: 1,
      reporter: quiet,
    });
    const compared = await compareCodecs({
      oldPath,
      newPath,
      target: 'generic',
      codecs: 'xz',
      levels: 'xz=6',
      differs: 'deflate-aware,bsdiff-lzma',
      timestampSeconds: 1,
      jobs: 1,
      reporter: quiet,
    });
    const entry = (differ: string) => compared.entries.find((e) => e.kind === 'diff' && e.differ === differ)!;
    expect(entry('deflate-aware').packageBytes).toBe(built.packages[0]!.sizeBytes);
    // The byte differ on the deflated member, planned without whole members, is far larger.
    expect(entry('bsdiff-lzma').packageBytes).toBeGreaterThan(3 * built.packages[0]!.sizeBytes);
  }, 180_000);
});
