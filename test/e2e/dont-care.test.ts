// Sparse images with DONT_CARE chunks: new DONT_CARE blocks get no operation and are recorded
// in the manifest; old DONT_CARE blocks are never a source, so a device whose old partition holds
// any bytes there still applies the package; sparse output keeps DONT_CARE as DONT_CARE.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPackage, buildPackages, inspectPackage } from '../../src/index.js';
import { SparseImageWriter } from '../../src/image/sparse-image-writer.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { sourceOf } from '../../src/model/operation.js';
import { syntheticImage } from '../helpers/edit-images.js';

const BS = 4096;
const BLOCKS = 256;
const work = mkdtempSync(join(tmpdir(), 'ota-dontcare-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Writes `content` as a sparse image whose `dontCare` block ranges are DONT_CARE chunks. */
async function writeSparse(path: string, content: Buffer, dontCare: [number, number][]): Promise<void> {
  const w = await SparseImageWriter.create(path, BS, BLOCKS);
  let block = 0;
  for (const [start, count] of dontCare) {
    if (start > block) await w.writeData(block, content.subarray(block * BS, start * BS));
    await w.writeDontCare(start, count);
    block = start + count;
  }
  if (block < BLOCKS) await w.writeData(block, content.subarray(block * BS));
  await w.finish();
}

const oldContent = syntheticImage(BLOCKS * BS, 5);
const newContent = Buffer.from(oldContent);
newContent.fill(9, 10 * BS, 12 * BS);
const oldDontCare: [number, number][] = [
  [40, 20],
  [200, 10],
];
const newDontCare: [number, number][] = [[100, 30]];
const zeroed = (buf: Buffer, ranges: [number, number][]) => {
  const out = Buffer.from(buf);
  for (const [s, c] of ranges) out.fill(0, s * BS, (s + c) * BS);
  return out;
};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  await writeSparse(join(work, 'old.simg'), oldContent, oldDontCare);
  await writeSparse(join(work, 'new.simg'), newContent, newDontCare);
});

describe('DONT_CARE chunks', () => {
  it('are recorded, get no ops, are never a source, and apply to a device with any bytes there', async () => {
    const built = await buildPackages({
      oldPath: join(work, 'old.simg'),
      newPath: join(work, 'new.simg'),
      outDir: join(work, 'out'),
      targets: 'generic',
      jobs: 1,
      timestampSeconds: 1,
    });
    expect(built.source!.dontCareBlocks).toBe(30);
    expect(built.target!.dontCareBlocks).toBe(30);
    const pkg = built.packages[0]!.path;
    const info = await inspectPackage({ packagePath: pkg });
    expect(info.partitions[0]!.target).toMatchObject({
      claim: 'sparse',
      dontCareBlocks: 30,
      sha256: sha(zeroed(newContent, newDontCare)),
    });
    expect(info.partitions[0]!.source).toMatchObject({ claim: 'sparse', dontCareBlocks: 30 });

    const reader = await PackageReader.open(pkg);
    await reader.close();
    const part = reader.manifest.partitions[0]!;
    expect(part.target.dontCare).toEqual([{ startBlock: 100, blockCount: 30 }]);
    for (const op of part.operations) {
      for (const e of op.dst)
        expect(
          e.startBlock + e.blockCount <= 100 || e.startBlock >= 130,
          `op writes DONT_CARE: ${JSON.stringify(e)}`,
        ).toBe(true);
      for (const e of sourceOf(op)) {
        for (const [s, c] of oldDontCare)
          expect(
            e.startBlock + e.blockCount <= s || e.startBlock >= s + c,
            `op reads old DONT_CARE: ${JSON.stringify(e)}`,
          ).toBe(true);
      }
    }

    // A device's old partition: the real data, with garbage where the sparse image said DONT_CARE.
    const device = Buffer.from(oldContent);
    for (const [s, c] of oldDontCare) device.fill(0xa5, s * BS, (s + c) * BS);
    writeFileSync(join(work, 'device-old.img'), device);
    await applyPackage({
      packagePath: pkg,
      oldPath: join(work, 'device-old.img'),
      outputPath: join(work, 'device-new.img'),
    });
    expect(sha(readFileSync(join(work, 'device-new.img')))).toBe(sha(zeroed(newContent, newDontCare)));

    // Sparse output: DONT_CARE stays DONT_CARE, and simg2img expands it to the same bytes.
    const r = await applyPackage({
      packagePath: pkg,
      oldPath: join(work, 'old.simg'),
      outputPath: join(work, 'new-out.simg'),
    });
    expect(r).toMatchObject({ kind: 'image', outputFormat: 'sparse' });
    const out = readFileSync(join(work, 'new-out.simg'));
    let chunkAt = 28;
    const types: number[] = [];
    while (chunkAt < out.length) {
      types.push(out.readUInt16LE(chunkAt));
      chunkAt += out.readUInt32LE(chunkAt + 8);
    }
    expect(types).toContain(0xcac3);
    const x = spawnSync('simg2img', [join(work, 'new-out.simg'), join(work, 'new-out.img')]);
    expect(x.error, 'simg2img is required: apt-get install android-sdk-libsparse-utils').toBeUndefined();
    expect(sha(readFileSync(join(work, 'new-out.img')))).toBe(sha(zeroed(newContent, newDontCare)));
  });

  it('a wrong old image is still refused (the mask only covers DONT_CARE blocks)', async () => {
    const device = Buffer.from(oldContent);
    device[5 * BS] = device[5 * BS]! ^ 1;
    writeFileSync(join(work, 'bad-old.img'), device);
    await expect(
      applyPackage({
        packagePath: join(work, 'out', 'update-generic.otapkg'),
        oldPath: join(work, 'bad-old.img'),
        outputPath: join(work, 'never.img'),
      }),
    ).rejects.toMatchObject({ code: 'WRONG_BASE', exitCode: 5 });
  });
});
