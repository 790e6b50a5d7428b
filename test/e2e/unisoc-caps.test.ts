// A build for a small-memory target keeps within its caps whatever the content tempts the differs
// into: the unisoc profile allows 16 MiB of decoder memory and 1 MiB per op, and an update whose
// changes sit in x86-64 code (exec-aware), a zip of deflated members (deflate-aware) and text
// (bsdiff-lzma) still declares at most that for every op, and applies exactly on a device holding
// the package to those limits.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { totalBlocks } from '../../src/model/extent.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { applyPackage, buildPackages } from '../../src/index.js';
import { editedCopy, textLike, x86CallCode } from '../codecs/sample-data.js';
import { zipArchive } from '../helpers/zip-archive.js';

const dir = mkdtempSync(join(tmpdir(), 'ota-unisoc-caps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const profile = JSON.parse(readFileSync(new URL('../../profiles/unisoc.json', import.meta.url), 'utf8')) as {
  decoderMemoryLimitBytes: number;
  maxOperationBytes: number;
};

/** 8 MiB: x86-64 code at 1 MiB, a zip of deflated text members at 3 MiB, text at 5 MiB. */
function image(version: 0 | 1): Buffer {
  const img = Buffer.alloc(8 * MiB);
  const code = version === 0 ? x86CallCode(7, 300_000) : x86CallCode(7, 300_000, 150_000, 61, 0x1000);
  code.copy(img, 1 * MiB);
  const members = Array.from({ length: 6 }, (_, i) => {
    const text = textLike(200_000, 40 + i);
    return { name: `res/m${i}.txt`, data: version === 0 || i % 2 ? text : editedCopy(text, i, 300, 40), level: 6 };
  });
  zipArchive(members).copy(img, 3 * MiB);
  const text = textLike(1536 * 1024, 9);
  (version === 0 ? text : editedCopy(text, 5, 5000, 400)).copy(img, 5 * MiB);
  return img;
}

describe('a unisoc build', () => {
  it("declares at most the profile's decoder memory and op size for every op, and applies within them", async () => {
    const oldPath = join(dir, 'old.img');
    const newPath = join(dir, 'new.img');
    writeFileSync(oldPath, image(0));
    writeFileSync(newPath, image(1));
    const built = await buildPackages({
      oldPath,
      newPath,
      outDir: join(dir, 'out'),
      targets: 'unisoc',
      jobs: 2,
      timestampSeconds: 1,
    });
    const pkg = built.packages[0]!.path;
    const reader = await PackageReader.open(pkg);
    try {
      const { blockSizeBytes, partitions } = reader.manifest;
      const ops = partitions.flatMap((p) => p.operations);
      const decoded = ops.filter((op) => op.type === 'diff' || op.type === 'replace');
      expect(decoded.length).toBeGreaterThan(0);
      // The content-aware differs are the ones whose memory grows with their inputs.
      const differs = new Set(ops.map((op) => (op.type === 'diff' ? op.differ : op.type)));
      for (const differ of ['exec-aware', 'deflate-aware', 'bsdiff-lzma']) expect(differs).toContain(differ);
      for (const op of decoded) expect(op.decoderMemoryBytes).toBeLessThanOrEqual(profile.decoderMemoryLimitBytes);
      for (const op of ops) expect(totalBlocks(op.dst) * blockSizeBytes).toBeLessThanOrEqual(profile.maxOperationBytes);
    } finally {
      await reader.close();
    }
    const outputPath = join(dir, 'applied.img');
    await applyPackage({ packagePath: pkg, oldPath, outputPath, deviceTarget: 'unisoc' });
    expect(readFileSync(outputPath).equals(readFileSync(newPath))).toBe(true);
  });
});
