// The published library API, imported the way a user does: `import … from 'ota-build'` from a
// project that has ota-build in node_modules (built dist/, package.json "exports", .d.ts files).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const app = mkdtempSync(join(tmpdir(), 'ota-api-user-'));
afterAll(() => rmSync(app, { recursive: true, force: true }));

describe('library API', () => {
  it('builds, verifies, inspects and applies through `import from "ota-build"`', () => {
    mkdirSync(join(app, 'node_modules'));
    symlinkSync(root, join(app, 'node_modules', 'ota-build'), 'dir');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      join(app, 'use.mjs'),
      `
      import { buildPackages, verifyPackage, applyPackage, inspectPackage, openRelease, OtaError, ExitCode } from 'ota-build';
      import { readFileSync } from 'node:fs';
      const samples = ${JSON.stringify(join(root, 'sample-images'))};
      const r = await buildPackages({ oldPath: samples + '/system-v1.img', newPath: samples + '/system-v2.img', outDir: 'out', targets: 'generic,mtk', timestampSeconds: 1 });
      const v = await verifyPackage({ packagePath: r.packages[1].path });
      const i = await inspectPackage({ packagePath: r.packages[0].path });
      const a = await applyPackage({ packagePath: r.packages[0].path, oldPath: samples + '/system-v1.img', outputPath: 'new.img' });
      let err;
      try { await verifyPackage({ packagePath: samples + '/system-v1.img' }); } catch (e) { err = e; }
      const release = await openRelease(samples + '/releases/unisoc/v2');
      const rb = await buildPackages({ oldPath: samples + '/releases/unisoc/v1', newPath: samples + '/releases/unisoc/v2', outDir: 'rel', timestampSeconds: 1 });
      const ra = await applyPackage({ packagePath: rb.packages[0].path, oldPath: samples + '/releases/unisoc/v1', outputPath: 'rel-out' });
      console.log(JSON.stringify({ targets: r.packages.map((p) => p.target), verified: v.target, partitions: i.partitions.length,
        same: readFileSync('new.img').equals(readFileSync(samples + '/system-v2.img')), errorIsOta: err instanceof OtaError, exit: err.exitCode, badPackage: ExitCode.badPackage,
        release: release.layout, releaseTargets: rb.packages.map((p) => p.target), releaseApplied: ra.partitions.length === rb.partitions.length }));
    `,
    );
    const out = JSON.parse(execFileSync(process.execPath, ['use.mjs'], { cwd: app, encoding: 'utf8' }));
    expect(out).toEqual({
      targets: ['generic', 'mediatek'],
      verified: 'mediatek',
      partitions: 1,
      same: true,
      errorIsOta: true,
      exit: 4,
      badPackage: 4,
      release: 'unisoc-pac',
      releaseTargets: ['unisoc'],
      releaseApplied: true,
    });
  }, 120_000);

  it('ships type declarations for every public export', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.exports['.'].types).toBe('./dist/index.d.ts');
    const dts = readFileSync(join(root, 'dist/index.d.ts'), 'utf8');
    for (const name of [
      'buildPackages',
      'applyPackage',
      'verifyPackage',
      'inspectPackage',
      'keygen',
      'OtaError',
      'BuildOptions',
      'InspectReport',
      'openRelease',
      'ReleaseSource',
      'PartitionSummary',
    ])
      expect(dts).toContain(name);
    expect(existsSync(join(root, 'dist/pipeline/build-packages.d.ts'))).toBe(true);
  });
});
