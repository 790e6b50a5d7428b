// Op sizes a build plans (prepared-images.ts runSizes): a full partition gathers chunks of up to
// the targets' op size, at most FULL_CHUNK_BYTES (generic's 8 MiB); a delta keeps every run within
// MAX_RUN_BYTES (4 MiB) whatever the op size, and a smaller target's op size wins for both.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages } from '../../src/index.js';
import { totalBlocks } from '../../src/model/extent.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { FULL_CHUNK_BYTES, MAX_RUN_BYTES, runSizes } from '../../src/pipeline/prepared-images.js';
import { resolveTargets } from '../../src/targets/target-registry.js';
import { textLike } from '../codecs/sample-data.js';

const MiB = 1024 * 1024;
let work: string;
let newPath: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-op-sizes-'));
  newPath = join(work, 'new.img');
  writeFileSync(newPath, textLike(12 * MiB, 31));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The destination sizes of a package's ops, by op type. */
async function opSizes(pkg: string): Promise<{ type: string; dstBytes: number }[]> {
  const reader = await PackageReader.open(pkg);
  try {
    const bs = reader.manifest.blockSizeBytes;
    return reader.manifest.partitions.flatMap((p) =>
      p.operations.map((op) => ({ type: op.type, dstBytes: totalBlocks(op.dst) * bs })),
    );
  } finally {
    await reader.close();
  }
}

async function build(name: string, oldPath?: string): Promise<{ type: string; dstBytes: number }[]> {
  const outDir = join(work, name);
  await buildPackages({
    ...(oldPath ? { oldPath } : {}),
    newPath,
    outDir,
    targets: 'generic',
    codec: 'gzip',
    level: 1,
  });
  return opSizes(join(outDir, 'update-generic.otapkg'));
}

describe('run sizes', () => {
  it('are the smallest op size among the targets, capped for runs and for full-image chunks', async () => {
    const [generic, unisoc] = await resolveTargets('generic,unisoc');
    expect(generic!.maxOperationBytes).toBe(8 * MiB);
    expect(runSizes([generic!])).toEqual({
      maxRunBytes: MAX_RUN_BYTES,
      largestRunBytes: MAX_RUN_BYTES,
      fullChunkBytes: 8 * MiB,
    });
    expect(runSizes([generic!, unisoc!])).toEqual({
      maxRunBytes: MiB,
      largestRunBytes: MAX_RUN_BYTES,
      fullChunkBytes: MiB,
    });
    const roomy = { ...generic!, maxOperationBytes: 64 * MiB };
    expect(runSizes([roomy])).toEqual({
      maxRunBytes: MAX_RUN_BYTES,
      largestRunBytes: MAX_RUN_BYTES,
      fullChunkBytes: FULL_CHUNK_BYTES,
    });
  });

  it('a full package for generic gathers ops past 4 MiB and within 8 MiB; a delta keeps them within 4 MiB', async () => {
    const full = await build('full');
    const largest = Math.max(...full.map((o) => o.dstBytes));
    expect(largest).toBeGreaterThan(MAX_RUN_BYTES);
    expect(largest).toBeLessThanOrEqual(8 * MiB);
    // The same 12 MiB image as the old one: one long found run, cut at 4 MiB.
    const delta = await build('delta', newPath);
    expect(delta.every((o) => o.type === 'copy')).toBe(true);
    expect(Math.max(...delta.map((o) => o.dstBytes))).toBe(MAX_RUN_BYTES);
  }, 60_000);
});
