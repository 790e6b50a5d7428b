// joinsFoundRuns: found runs join changed chunks for every built-in target (its bsdiff-lzma fits
// its decoder memory), and not for a target no differ fits or one without DIFF, nor for a build
// whose differs all apply to some content only (there a REPLACE would store the joined blocks:
// a build with --differ exec-aware of scattered edits stores only the changed blocks).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPackages } from '../../src/index.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { CHUNK_BYTES, joinsFoundRuns } from '../../src/pipeline/prepared-images.js';
import { syntheticImage } from '../helpers/edit-images.js';
import { resolveTargets } from '../../src/targets/target-registry.js';

describe('joinsFoundRuns', () => {
  it('joins for each built-in target alone and for all together, at their own op sizes', async () => {
    const all = await resolveTargets('generic,qualcomm,mediatek,unisoc');
    for (const p of all) expect(joinsFoundRuns([p], p.maxOperationBytes), p.id).toBe(true);
    expect(joinsFoundRuns(all, Math.min(...all.map((p) => p.maxOperationBytes)))).toBe(true);
  });

  it('does not join where no allowed differ fits the decoder memory, or DIFF is not allowed', async () => {
    const [generic] = await resolveTargets('generic');
    expect(joinsFoundRuns([{ ...generic!, decoderMemoryLimitBytes: 1024 * 1024 }], CHUNK_BYTES)).toBe(false);
    expect(joinsFoundRuns([{ ...generic!, allowedOperations: ['zero', 'copy', 'replace'] }], CHUNK_BYTES)).toBe(false);
    // One target that cannot join decides for a build of several (they share one plan).
    expect(joinsFoundRuns([generic!, { ...generic!, decoderMemoryLimitBytes: 1024 * 1024 }], CHUNK_BYTES)).toBe(false);
  });

  it('does not join for a build whose differs all apply to some content only', async () => {
    const [generic] = await resolveTargets('generic');
    expect(joinsFoundRuns([generic!], CHUNK_BYTES, ['deflate-aware', 'exec-aware'])).toBe(false);
    expect(joinsFoundRuns([generic!], CHUNK_BYTES, ['exec-aware', 'zstd-dict'])).toBe(true);
    expect(joinsFoundRuns([{ ...generic!, allowedDiffers: ['exec-aware'] }], CHUNK_BYTES)).toBe(false);
  });

  it('build --differ exec-aware of scattered edits in data without code: REPLACE ops hold only the changed blocks', async () => {
    const work = mkdtempSync(join(tmpdir(), 'ota-joins-'));
    try {
      const BS = 4096;
      const old = syntheticImage(256 * BS, 0x701);
      const next = Buffer.from(old);
      const changed = [24, 90, 170, 222];
      for (const b of changed) next.write('edited', b * BS + 100);
      writeFileSync(join(work, 'old.img'), old);
      writeFileSync(join(work, 'new.img'), next);
      const built = await buildPackages({
        oldPath: join(work, 'old.img'),
        newPath: join(work, 'new.img'),
        outDir: join(work, 'out'),
        targets: 'generic',
        differ: 'exec-aware',
        jobs: 1,
        timestampSeconds: 1,
      });
      const reader = await PackageReader.open(built.packages[0]!.path);
      await reader.close();
      const replaced = reader.manifest.partitions[0]!.operations.flatMap((op) =>
        op.type === 'replace'
          ? op.dst.flatMap((e) => Array.from({ length: e.blockCount }, (_, i) => e.startBlock + i))
          : [],
      );
      expect(replaced.sort((a, b) => a - b)).toEqual(changed);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});
