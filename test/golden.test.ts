// Golden package bytes and golden `inspect --json` for a tiny fixed input, signed with the
// deterministic Ed25519 and RSA-2048 test keys. A format change must re-bless these on purpose:
//   UPDATE_GOLDEN=1 npx vitest run test/golden.test.ts   (then review the diff)

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPackages, inspectPackage } from '../src/index.js';
import { applyEdits, syntheticImage } from './helpers/edit-images.js';
import { tinyGoldenImages } from './helpers/golden-inputs.js';
import { filteredRaw, zipTextImage, zlibWrapped } from './helpers/zip-archive.js';
import { elfChunk, textLike, x86CallCode } from './codecs/sample-data.js';

const goldenDir = new URL('./golden/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ota-golden-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function goldenInputs(): { oldPath: string; newPath: string } {
  const { oldImage: old, newImage: next } = tinyGoldenImages();
  const oldPath = join(work, 'old.img');
  const newPath = join(work, 'new.img');
  writeFileSync(oldPath, old);
  writeFileSync(newPath, next);
  return { oldPath, newPath };
}

function compareOrBless(name: string, actual: Buffer): void {
  const path = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    if (process.env.CI) throw new Error(`golden file ${name} is missing; run UPDATE_GOLDEN=1 locally and commit it`);
    writeFileSync(path, actual);
  }
  const expected = readFileSync(path);
  expect(actual.length, `${name} size`).toBe(expected.length);
  expect(actual.equals(expected), `${name} bytes differ from the golden file`).toBe(true);
}

/** The fixed build settings every golden package shares (one job, a fixed clock and versions). */
const FIXED = {
  jobs: 1,
  timestampSeconds: 1_700_000_000,
  sourceVersion: 'golden-1',
  targetVersion: 'golden-2',
} as const;

/**
 * Compares the package at `pkg` and its `inspect --json` with the golden files `<name>.otapkg`
 * and `<name>.inspect.json` (blessing them when asked); returns the report's format and JSON.
 */
async function compareOrBlessPackage(name: string, pkg: string): Promise<{ formatVersion: string; json: string }> {
  compareOrBless(`${name}.otapkg`, readFileSync(pkg));
  const report = await inspectPackage({ packagePath: pkg });
  const json = JSON.stringify({ ...report, path: `${name}.otapkg` }, null, 2) + '\n';
  compareOrBless(`${name}.inspect.json`, Buffer.from(json));
  return { formatVersion: report.formatVersion, json };
}

describe('golden packages', () => {
  it('tiny delta for generic (ed25519) and mediatek (rsa-2048) matches the committed bytes and inspect JSON', async () => {
    const { oldPath, newPath } = goldenInputs();
    const built = await buildPackages({
      oldPath,
      newPath,
      outDir: join(work, 'out'),
      targets: 'generic,mediatek',
      ...FIXED,
    });
    for (const p of built.packages) await compareOrBlessPackage(`tiny-${p.target}`, p.path);
  });

  it('tiny format-1.1 release package (generic folder: changed, unchanged and new partitions) matches the committed bytes and inspect JSON', async () => {
    const [v1, v2] = [join(work, 'rel-v1'), join(work, 'rel-v2')];
    mkdirSync(v1);
    mkdirSync(v2);
    const boot = syntheticImage(32 * 1024, 7);
    const vendor = syntheticImage(16 * 1024, 8);
    writeFileSync(join(v1, 'boot.img'), boot);
    writeFileSync(join(v2, 'boot.img'), applyEdits(boot, [{ kind: 'random', at: 9000, length: 200 }], 7));
    writeFileSync(join(v1, 'vendor.img'), vendor);
    writeFileSync(join(v2, 'vendor.img'), vendor);
    writeFileSync(join(v2, 'dtbo.img'), syntheticImage(8 * 1024, 9));
    const built = await buildPackages({
      oldPath: v1,
      newPath: v2,
      outDir: join(work, 'rel-out'),
      targets: 'generic',
      ...FIXED,
    });
    const { formatVersion } = await compareOrBlessPackage('release-generic', built.packages[0]!.path);
    expect(formatVersion).toBe('1.1');
  });

  it('tiny delta with --differ bsdiff-lzma (differ id 4) matches the committed bytes and inspect JSON', async () => {
    const { oldPath, newPath } = goldenInputs();
    const built = await buildPackages({
      oldPath,
      newPath,
      outDir: join(work, 'out-lzma'),
      targets: 'generic',
      differ: 'bsdiff-lzma',
      ...FIXED,
    });
    const { json } = await compareOrBlessPackage('tiny-generic-bsdiff-lzma', built.packages[0]!.path);
    expect(json).toContain('differ:bsdiff-lzma');
  });

  it('full package of a zip image (format 1.4: sourceless deflate-aware DIFF ops) matches the committed bytes and inspect JSON', async () => {
    // Two 16 KB members of JS-like text at zlib levels 9 and 6, at 8 KiB into a 64 KiB image.
    const newPath = join(work, 'zip.img');
    writeFileSync(newPath, zipTextImage(64 * 1024, 2, 7, 16_000));
    const built = await buildPackages({
      newPath,
      outDir: join(work, 'out-zip'),
      targets: 'generic',
      jobs: 1,
      timestampSeconds: 1_700_000_000,
      targetVersion: 'golden-2',
    });
    const { formatVersion, json } = await compareOrBlessPackage('full-zip-generic', built.packages[0]!.path);
    expect(formatVersion).toBe('1.4');
    expect(json).toContain('differ:deflate-aware');
  });

  it('full package of zlib streams no parameter set reproduces (format 1.7: recipe segments) matches the committed bytes and inspect JSON', async () => {
    // Four zlib streams of much the same data (a short text each, then 12 KB shared), deflated
    // with the filtered strategy, which the parameter search never tries, at 4 KiB into 64 KiB.
    const shared = Buffer.concat([textLike(4000, 71), elfChunk(8000)]);
    const streams = [1, 2, 3, 4].map((i) => zlibWrapped(filteredRaw(Buffer.concat([textLike(200, i), shared]))));
    const image = Buffer.alloc(64 * 1024);
    Buffer.concat(streams).copy(image, 4096);
    const newPath = join(work, 'recipes.img');
    writeFileSync(newPath, image);
    const built = await buildPackages({
      newPath,
      outDir: join(work, 'out-recipes'),
      targets: 'generic',
      jobs: 1,
      timestampSeconds: 1_700_000_000,
      targetVersion: 'golden-2',
    });
    const { formatVersion, json } = await compareOrBlessPackage('recipes-generic-deflate', built.packages[0]!.path);
    expect(formatVersion).toBe('1.7');
    expect(json).toContain('differ:deflate-aware');
  });

  it('tiny x86-64 delta whose exec-aware op carries a label table (format 1.5) matches the committed bytes and inspect JSON', async () => {
    // Calls into 48 "functions" in the zero blocks before the code (ZERO ops, so in no cover of
    // the changed chunk); the new build moved them by 0x2000.
    const image = (code: Buffer) => {
      const img = Buffer.alloc(1024 * 1024);
      code.copy(img, 512 * 1024);
      return img;
    };
    const oldPath = join(work, 'labels-old.img');
    const newPath = join(work, 'labels-new.img');
    writeFileSync(oldPath, image(x86CallCode(5, 60_000)));
    writeFileSync(newPath, image(x86CallCode(5, 60_000, 30_000, 53, 0x2000)));
    const built = await buildPackages({
      oldPath,
      newPath,
      outDir: join(work, 'out-labels'),
      targets: 'generic',
      ...FIXED,
    });
    const { formatVersion, json } = await compareOrBlessPackage('labels-generic-exec-aware', built.packages[0]!.path);
    expect(formatVersion).toBe('1.5');
    expect(json).toContain('differ:exec-aware');
  });

  it('delta whose new image repeats new content (format 1.6: a DIFF op reading target blocks) matches the committed bytes and inspect JSON', async () => {
    // 4 MiB: 32 KiB of new content at 1 MiB and an edited copy of it at 3 MiB, in another chunk.
    const old = syntheticImage(4 * 1024 * 1024, 61);
    const fresh = syntheticImage(32 * 1024, 62);
    const next = Buffer.from(old);
    fresh.copy(next, 1024 * 1024);
    applyEdits(fresh, [{ kind: 'random', at: 9000, length: 40 }], 63).copy(next, 3 * 1024 * 1024);
    const oldPath = join(work, 'repeat-old.img');
    const newPath = join(work, 'repeat-new.img');
    writeFileSync(oldPath, old);
    writeFileSync(newPath, next);
    const built = await buildPackages({
      oldPath,
      newPath,
      outDir: join(work, 'out-repeat'),
      targets: 'generic',
      ...FIXED,
    });
    const { formatVersion, json } = await compareOrBlessPackage(
      'repeat-generic-target-source',
      built.packages[0]!.path,
    );
    expect(formatVersion).toBe('1.6');
    expect(json).toContain('"targetReads"');
  });
});
