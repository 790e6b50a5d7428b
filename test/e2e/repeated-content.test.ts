// Repeated new content in a delta (a file shipped in two partition folders): the second copy
// joins the op of the first (planner/gather-twins.ts), so it costs a small share of a copy; the
// package still applies to exactly the new image, as raw and as sparse output, with one or two jobs.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPackage, buildPackages } from '../../src/index.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { withSmallTmpfs } from '../helpers/small-tmpfs.js';

const dir = mkdtempSync(join(tmpdir(), 'ota-repeated-'));
const small = join(dir, 'small-fs');
afterAll(() => {
  spawnSync('umount', [small]);
  rmSync(dir, { recursive: true, force: true });
});

const KiB = 1024;
const IMAGE_BYTES = 2048 * KiB;
const FILE_BYTES = 640 * KiB;
/** Where the copies sit (block aligned, as ext4 places files). */
const COPY_AT = [64 * KiB, 1152 * KiB];

/** An image with `file` at each of `at` (zeros around). */
function imageWith(file: Buffer, at: readonly number[]): Buffer {
  const img = Buffer.alloc(IMAGE_BYTES);
  for (const a of at) file.copy(img, a);
  return img;
}

async function build(name: string, oldImg: Buffer, newImg: Buffer, jobs = 2) {
  const oldPath = join(dir, `${name}-old.img`);
  const newPath = join(dir, `${name}-new.img`);
  writeFileSync(oldPath, oldImg);
  writeFileSync(newPath, newImg);
  const built = await buildPackages({
    oldPath,
    newPath,
    outDir: join(dir, `${name}-out-${jobs}`),
    targets: 'generic',
    jobs,
    timestampSeconds: 1,
  });
  return { oldPath, newPath, pkg: built.packages[0]!.path };
}

describe('repeated content in a delta', () => {
  const oldFile = syntheticImage(FILE_BYTES, 11);
  const edits = [
    { kind: 'insert', at: 100 * KiB, length: 3000 },
    { kind: 'random', at: 300 * KiB, length: 20 * KiB },
    { kind: 'delete', at: 500 * KiB, length: 5000 },
  ] as const;
  const newFile = applyEdits(oldFile, edits, 12);

  it('codes the second copy as a repeat inside the first copy’s op and applies exactly', async () => {
    const one = await build('one', imageWith(oldFile, COPY_AT.slice(0, 1)), imageWith(newFile, COPY_AT.slice(0, 1)));
    const two = await build('two', imageWith(oldFile, COPY_AT), imageWith(newFile, COPY_AT));
    const oneBytes = readFileSync(one.pkg).length;
    const twoBytes = readFileSync(two.pkg).length;
    // Coded twice, the package would be about twice as big; as a repeat the copy costs a few %.
    expect(twoBytes).toBeLessThan(oneBytes * 1.2);

    // Some op writes both copies: its destination runs past the first copy into the second.
    const reader = await PackageReader.open(two.pkg);
    try {
      const bs = reader.manifest.blockSizeBytes;
      const ops = reader.manifest.partitions[0]!.operations;
      const spansBoth = ops.some(
        (op) =>
          op.dst.some((e) => e.startBlock * bs < COPY_AT[0]! + FILE_BYTES) &&
          op.dst.some((e) => e.startBlock * bs >= COPY_AT[1]!),
      );
      expect(spansBoth).toBe(true);
    } finally {
      await reader.close();
    }

    const out = join(dir, 'two-applied.img');
    await applyPackage({ packagePath: two.pkg, oldPath: two.oldPath, outputPath: out });
    expect(readFileSync(out).equals(readFileSync(two.newPath))).toBe(true);
  });

  it('gives the same package bytes with one job and with two', async () => {
    const a = await build('jobs', imageWith(oldFile, COPY_AT), imageWith(newFile, COPY_AT), 1);
    const b = await build('jobs', imageWith(oldFile, COPY_AT), imageWith(newFile, COPY_AT), 2);
    expect(readFileSync(a.pkg).equals(readFileSync(b.pkg))).toBe(true);
  });

  it('applies as an Android sparse output (ops out of destination order) to the new image', async () => {
    const built = await build('sparse', imageWith(oldFile, COPY_AT), imageWith(newFile, COPY_AT));
    const sparse = join(dir, 'sparse-applied.simg');
    await applyPackage({ packagePath: built.pkg, oldPath: built.oldPath, outputPath: sparse, outputFormat: 'sparse' });
    const raw = join(dir, 'sparse-expanded.img');
    const x = spawnSync('simg2img', [sparse, raw]);
    expect(x.error, 'simg2img is required: apt-get install android-sdk-libsparse-utils').toBeUndefined();
    expect(x.status, x.stderr?.toString()).toBe(0);
    expect(readFileSync(raw).equals(readFileSync(built.newPath))).toBe(true);
  });

  it('asks for room for the raw staging too before a sparse output of ops out of order', async () => {
    const built = await build('space', imageWith(oldFile, COPY_AT), imageWith(newFile, COPY_AT));
    // 11 MiB: enough for the raw image (2 MiB) and the 8 MiB scratch, not for a raw copy as well.
    await withSmallTmpfs(small, 11, async () => {
      const sparse = join(small, 'out.simg');
      await expect(
        applyPackage({ packagePath: built.pkg, oldPath: built.oldPath, outputPath: sparse, outputFormat: 'sparse' }),
      ).rejects.toMatchObject({ code: 'NO_SPACE' });
      expect(readdirSync(small)).toEqual([]);
      const raw = join(small, 'out.img');
      await applyPackage({ packagePath: built.pkg, oldPath: built.oldPath, outputPath: raw });
      expect(readFileSync(raw).equals(readFileSync(built.newPath))).toBe(true);
    });
  });
});
