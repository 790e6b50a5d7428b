// Builds whose new image repeats new content (format 1.6, FORMAT.md §4): the copy is coded
// against the first one; only targets that read 1.6 get target sources (also in a mix with a 1.5
// target); --jobs 2 builds the same bytes; the package applies to a raw file, a sparse file and a
// device, asks for room for a raw stage before a sparse output, and is refused when re-signed as
// minor 5; a grown image codes its copy from the target alone.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPackage, buildPackages, inspectPackage, verifyPackage } from '../../src/index.js';
import { openImage } from '../../src/image/open-image.js';
import type { DiffOperation } from '../../src/model/operation.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { testPrivateKeyPath } from '../../src/signing/test-keys.js';
import { syntheticImage } from '../helpers/edit-images.js';
import { repeatedContentPair } from '../helpers/repeated-content.js';
import { withSmallTmpfs } from '../helpers/small-tmpfs.js';
import { HEADER_FIELD, resign } from '../helpers/package-bytes.js';
import { SparseBuilder } from '../sparse/sparse-test-kit.js';

const MiB = 1024 * 1024;
const BS = 4096;
const work = mkdtempSync(join(tmpdir(), 'ota-target-source-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const quiet = { warn() {}, progress() {} };

describe('a build whose new image repeats new content', () => {
  // New content at 3 MiB and an edited copy at 6 MiB, like nothing in the old image.
  const { old, next, fresh, freshAtBytes, copy, copyAtBytes } = repeatedContentPair();
  const oldPath = join(work, 'old.img');
  const newPath = join(work, 'new.img');
  const build = (outDir: string, targets = 'generic', jobs = 1) =>
    buildPackages({ oldPath, newPath, outDir: join(work, outDir), targets, jobs, timestampSeconds: 1 }).then(
      (b) => b.packages[0]!.path,
    );
  const diffsOf = async (path: string) => {
    const reader = await PackageReader.open(path);
    await reader.close();
    return reader.manifest.partitions[0]!.operations.filter((op): op is DiffOperation => op.type === 'diff');
  };
  let pkg = '';
  beforeAll(async () => {
    writeFileSync(oldPath, old);
    writeFileSync(newPath, next);
    pkg = await build('out');
  }, 120_000);

  it('codes the copy against the first one, as format 1.6', async () => {
    expect(readFileSync(pkg)[HEADER_FIELD.formatMinor]).toBe(6);
    const reading = (await diffsOf(pkg)).filter((op) => (op.targetSrc?.length ?? 0) > 0);
    expect(reading.length).toBeGreaterThan(0);
    const first = { start: freshAtBytes / BS, end: (freshAtBytes + fresh.length) / BS };
    for (const op of reading) {
      // Only the copy's ops read the target, each the blocks where the first copy was written.
      const at = op.dst[0]!.startBlock;
      expect(at >= copyAtBytes / BS && at < (copyAtBytes + copy.length) / BS, JSON.stringify(op.dst)).toBe(true);
      expect(op.targetSrc!.every((e) => e.startBlock + e.blockCount <= at)).toBe(true);
      expect(op.targetSrc!.some((e) => e.startBlock <= first.start && e.startBlock + e.blockCount >= first.end)).toBe(
        true,
      );
    }
    // The copy costs next to nothing: a few edits.
    expect(reading.reduce((n, op) => n + op.blob.sizeBytes, 0)).toBeLessThan(2000);
    // inspect says how much the package reads back.
    const report = await inspectPackage({ packagePath: pkg, reporter: quiet });
    const bytes = reading.reduce((n, op) => n + op.targetSrc!.reduce((m, e) => m + e.blockCount * BS, 0), 0);
    expect(report.partitions[0]!.targetReads).toEqual({ ops: reading.length, bytes });
  });

  it('is smaller than for a target that reads at most 1.5, which gets none', async () => {
    const profile = {
      ...JSON.parse(readFileSync(new URL('../../profiles/generic.json', import.meta.url), 'utf8')),
      id: 'generic15',
      maxFormatMinor: 5,
    };
    const profilePath = join(work, 'generic15.json');
    writeFileSync(profilePath, JSON.stringify(profile));
    const older = await build('out15', profilePath);
    expect(readFileSync(older)[HEADER_FIELD.formatMinor]).toBeLessThanOrEqual(5);
    expect((await diffsOf(older)).every((op) => op.targetSrc === undefined)).toBe(true);
    // One build for a 1.6 target and a 1.5 one encodes each chunk once: neither gets them.
    const mixed = await buildPackages({
      oldPath,
      newPath,
      outDir: join(work, 'mixed'),
      targets: `generic,${profilePath}`,
      jobs: 1,
      timestampSeconds: 1,
    });
    for (const p of mixed.packages)
      expect(
        (await diffsOf(p.path)).every((op) => op.targetSrc === undefined),
        p.path,
      ).toBe(true);
    // Without them the copy is coded again, at about what the first copy costs (~260 KB).
    expect(readFileSync(older).length - readFileSync(pkg).length).toBeGreaterThan(200_000);
  }, 120_000);

  it('builds the same bytes with --jobs 2', async () => {
    expect(readFileSync(await build('out-jobs2', 'generic', 2)).equals(readFileSync(pkg))).toBe(true);
  }, 120_000);

  it('applies to a raw file, a sparse file and a device holding garbage, and verifies', async () => {
    const raw = join(work, 'applied.img');
    await applyPackage({ packagePath: pkg, oldPath, outputPath: raw, reporter: quiet });
    expect(readFileSync(raw).equals(next)).toBe(true);
    const sparse = join(work, 'applied.simg');
    await applyPackage({ packagePath: pkg, oldPath, outputPath: sparse, outputFormat: 'sparse', reporter: quiet });
    const expanded = await openImage(sparse);
    expect((await expanded.read(0, next.length)).equals(next)).toBe(true);
    await expanded.close();
    // A device is written in place: what the op reads back must be what earlier ops wrote there.
    const device = join(work, 'device.img');
    writeFileSync(device, syntheticImage(next.length, 73));
    await applyPackage({ packagePath: pkg, oldPath, outputPath: device, outputAsBlockDevice: true, reporter: quiet });
    expect(readFileSync(device).equals(next)).toBe(true);
    await verifyPackage({ packagePath: pkg, oldPath, reporter: quiet });
  }, 120_000);

  it('asks for room for a raw stage before a sparse output, whose ops read back', async () => {
    // 20 MiB: the raw image (8 MiB) and the 8 MiB scratch fit, a raw stage beside them does not.
    const small = join(work, 'small');
    await withSmallTmpfs(small, 20, async () => {
      const sparse = join(small, 'out.simg');
      await expect(
        applyPackage({ packagePath: pkg, oldPath, outputPath: sparse, outputFormat: 'sparse', reporter: quiet }),
      ).rejects.toMatchObject({ code: 'NO_SPACE' });
      expect(readdirSync(small)).toEqual([]);
      await applyPackage({ packagePath: pkg, oldPath, outputPath: join(small, 'out.img'), reporter: quiet });
      expect(readFileSync(join(small, 'out.img')).equals(next)).toBe(true);
    });
  });

  it('is refused when it states minor 5, even when re-signed', async () => {
    const bytes = Buffer.from(readFileSync(pkg));
    bytes[HEADER_FIELD.formatMinor] = 5;
    const mutated = join(work, 'minor-5.otapkg');
    writeFileSync(mutated, resign(bytes, readFileSync(testPrivateKeyPath('ed25519'), 'utf8')));
    await expect(inspectPackage({ packagePath: mutated, reporter: quiet })).rejects.toMatchObject({
      code: 'PKG_BAD_MANIFEST',
      exitCode: 4,
      message: expect.stringMatching(/uses 1\.6 features/),
    });
  });
});

describe('a grown image whose new part repeats itself', () => {
  // Old: 4 MiB. New: 8 MiB, new content at 4.5 MiB and an edited copy at 6.5 MiB, both past the
  // old image's end: the copy's op has no old source, only the target.
  const fresh = syntheticImage(384 * 1024, 81);
  const copy = Buffer.from(fresh);
  for (let i = 0; i < 20; i++) copy[i * 17_000 + 3] = copy[i * 17_000 + 3]! ^ 0x77;
  const old = syntheticImage(4 * MiB, 82);
  const next = Buffer.concat([old, Buffer.alloc(4 * MiB - 1000)]);
  fresh.copy(next, 4.5 * MiB);
  copy.copy(next, 6.5 * MiB);
  const dir = join(work, 'grown');
  const oldPath = join(dir, 'old.img');
  const newPath = join(dir, 'new.img');
  let pkg = '';
  beforeAll(async () => {
    mkdirSync(dir);
    writeFileSync(oldPath, old);
    writeFileSync(newPath, next);
    const built = await buildPackages({
      oldPath,
      newPath,
      outDir: join(dir, 'out'),
      targets: 'generic',
      jobs: 1,
      timestampSeconds: 1,
    });
    pkg = built.packages[0]!.path;
  }, 120_000);

  it('codes the copy from the target alone and applies it to a raw file and a device', async () => {
    const reader = await PackageReader.open(pkg);
    await reader.close();
    const reading = reader.manifest.partitions[0]!.operations.filter(
      (op): op is DiffOperation => op.type === 'diff' && (op.targetSrc?.length ?? 0) > 0,
    );
    expect(reading.length).toBeGreaterThan(0);
    expect(reading.some((op) => op.src.length === 0)).toBe(true);
    expect(reading.reduce((n, op) => n + op.blob.sizeBytes, 0)).toBeLessThan(3000);
    // The image's size is not a whole number of blocks: its last block is padded on every output.
    const raw = join(dir, 'applied.img');
    await applyPackage({ packagePath: pkg, oldPath, outputPath: raw, reporter: quiet });
    expect(readFileSync(raw).equals(next)).toBe(true);
    // An image that ends inside a block has no sparse form: refused up front, nothing written.
    const sparse = join(dir, 'applied.simg');
    await expect(
      applyPackage({ packagePath: pkg, oldPath, outputPath: sparse, outputFormat: 'sparse', reporter: quiet }),
    ).rejects.toMatchObject({ code: 'OUTPUT_FORMAT_SIZE', exitCode: 2 });
    expect(readdirSync(dir).filter((n) => n.includes('applied.simg'))).toEqual([]);
    const device = join(dir, 'device.img');
    writeFileSync(device, syntheticImage(8 * MiB, 83));
    await applyPackage({ packagePath: pkg, oldPath, outputPath: device, outputAsBlockDevice: true, reporter: quiet });
    expect(readFileSync(device).subarray(0, next.length).equals(next)).toBe(true);
  }, 120_000);

  it('verifies with and without the old image', async () => {
    await verifyPackage({ packagePath: pkg, reporter: quiet });
    await verifyPackage({ packagePath: pkg, oldPath, reporter: quiet });
  }, 120_000);

  it('writes raw from a sparse old image, and says so unless raw was asked for (OUTPUT_RAW)', async () => {
    const sparseOld = join(dir, 'old.simg');
    writeFileSync(sparseOld, new SparseBuilder(BS).raw(old).build());
    const applyFrom = async (outputPath: string, outputFormat?: 'raw') => {
      const warnings: { code: string; message: string }[] = [];
      const reporter = { warn: (w: { code: string; message: string }) => warnings.push(w), progress() {} };
      await applyPackage({ packagePath: pkg, oldPath: sparseOld, outputPath, outputFormat, reporter });
      expect(readFileSync(outputPath).equals(next)).toBe(true);
      return warnings;
    };
    const [said] = (await applyFrom(join(dir, 'from-sparse.img'))).filter((w) => w.code === 'OUTPUT_RAW');
    expect(said?.message).toBe(
      `partition system: the old image is sparse, but the new one (${next.length} bytes) is not a whole number of the package's 4096-byte blocks, so it has no sparse form: written raw (--output-format raw says so and silences this)`,
    );
    expect((await applyFrom(join(dir, 'asked-raw.img'), 'raw')).map((w) => w.code)).not.toContain('OUTPUT_RAW');
  }, 120_000);
});
