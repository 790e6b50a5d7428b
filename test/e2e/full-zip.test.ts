// A full package (no old image) of an image holding zip archives, through the real CLI: its
// chunks of deflated members become sourceless deflate-aware DIFF ops (format 1.4), smaller than
// any codec makes of the deflated bytes, and build → verify → apply gives exactly the image. A full
// package of AArch64 code, whose xz blob uses the ARM64 chain, is written as 1.4 too. For a target
// whose profile reads 1.3 at most (maxFormatMinor), both images give 1.3 packages, and a device
// with that profile refuses a 1.4 one.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PackageReader } from '../../src/package/package-reader.js';
import { HEADER_FIELD } from '../helpers/package-bytes.js';
import { describeRun, ROOT, runCli, runCliOk } from '../helpers/run-cli.js';
import { zipTextImage } from '../helpers/zip-archive.js';
import { aarch64Like } from '../codecs/sample-data.js';

const dir = mkdtempSync(join(tmpdir(), 'ota-full-zip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('full package of zip archives (CLI)', () => {
  it('uses sourceless deflate-aware DIFF ops and applies exactly', async () => {
    const image = zipTextImage(1024 * 1024, 12, 40);
    const newPath = join(dir, 'new.img');
    writeFileSync(newPath, image);
    const out = join(dir, 'out');
    runCliOk(['build', '--new', newPath, '--target', 'generic', '-o', out, '--jobs', '1']);
    const pkg = join(out, 'update-generic.otapkg');
    const bytes = readFileSync(pkg);
    expect(bytes[HEADER_FIELD.formatMinor]).toBe(4);

    const reader = await PackageReader.open(pkg);
    try {
      const p = reader.manifest.partitions[0]!;
      expect(p.source).toBeUndefined();
      const sourceless = p.operations.filter((op) => op.type === 'diff' && op.src.length === 0);
      expect(sourceless.length).toBeGreaterThan(0);
      expect(sourceless.every((op) => op.type === 'diff' && op.differ === 'deflate-aware')).toBe(true);
    } finally {
      await reader.close();
    }

    runCliOk(['verify', pkg]);
    const applied = join(dir, 'applied.img');
    runCliOk(['apply', pkg, '-o', applied]);
    expect(readFileSync(applied).equals(image)).toBe(true);
  }, 120_000);

  it('writes a full package of AArch64 code, whose xz blob uses the ARM64 chain, as 1.4 and applies it exactly', async () => {
    const image = aarch64Like(384 * 1024, 13);
    const newPath = join(dir, 'arm64.img');
    writeFileSync(newPath, image);
    const out = join(dir, 'arm64-out');
    runCliOk(['build', '--new', newPath, '--target', 'generic', '-o', out, '--jobs', '1']);
    const pkg = join(out, 'update-generic.otapkg');
    // No sourceless DIFF here: only the blob's chain asks for 1.4.
    const reader = await PackageReader.open(pkg);
    try {
      expect(reader.manifest.partitions[0]!.operations.every((op) => op.type !== 'diff')).toBe(true);
    } finally {
      await reader.close();
    }
    expect(readFileSync(pkg)[HEADER_FIELD.formatMinor]).toBe(4);
    const applied = join(dir, 'arm64-applied.img');
    runCliOk(['apply', pkg, '-o', applied]);
    expect(readFileSync(applied).equals(image)).toBe(true);
  }, 120_000);

  it('makes packages of both that a target reading 1.3 at most reads; a device with that profile refuses 1.4', async () => {
    const generic = JSON.parse(readFileSync(join(ROOT, 'profiles', 'generic.json'), 'utf8'));
    const profile = (name: string, extra: object) => {
      const path = join(dir, `${name}.json`);
      writeFileSync(path, JSON.stringify({ ...generic, id: 'legacy', aliases: [], ...extra }));
      return path;
    };
    const legacy = profile('legacy', { maxFormatMinor: 3 });
    const images: [string, Buffer][] = [
      ['zip', zipTextImage(1024 * 1024, 12, 40)],
      ['arm64', aarch64Like(384 * 1024, 13)],
    ];
    for (const [name, image] of images) {
      const newPath = join(dir, `legacy-${name}.img`);
      writeFileSync(newPath, image);
      const out = join(dir, `legacy-${name}`);
      runCliOk(['build', '--new', newPath, '--target', legacy, '-o', out, '--jobs', '1']);
      const pkg = join(out, 'update-legacy.otapkg');
      // Nothing in it needs 1.1-1.4 any more: a 1.0 package.
      expect(readFileSync(pkg)[HEADER_FIELD.formatMinor]).toBe(0);
      if (name === 'arm64') {
        // The AArch64 code is still coded by xz, with its 1.0 chain instead of the ARM64 one.
        const reader = await PackageReader.open(pkg);
        const codecs = reader.manifest.partitions[0]!.operations.map((op) => (op.type === 'replace' ? op.codec : ''));
        await reader.close();
        expect(codecs).toContain('xz');
      }
      const applied = join(dir, `legacy-${name}-applied.img`);
      runCliOk(['apply', pkg, '-o', applied, '--device-profile', legacy]);
      expect(readFileSync(applied).equals(image)).toBe(true);
    }
    // The same zip image for the same target id without the limit: 1.4, refused by the 1.3 device.
    const out = join(dir, 'legacy-new');
    runCliOk(['build', '--new', join(dir, 'legacy-zip.img'), '--target', profile('newer', {}), '-o', out]);
    const pkg = join(out, 'update-legacy.otapkg');
    expect(readFileSync(pkg)[HEADER_FIELD.formatMinor]).toBe(4);
    for (const args of [
      ['apply', pkg, '-o', join(dir, 'refused.img')],
      ['verify', pkg],
    ]) {
      const r = runCli([...args, '--device-profile', legacy]);
      expect(r.status, describeRun(r)).toBe(7);
      expect(r.stderr).toContain('[DEVICE_LIMIT_EXCEEDED]');
      expect(r.stderr).toContain('format 1.4 is newer than the 1.3 the device reads');
    }
    expect(existsSync(join(dir, 'refused.img'))).toBe(false);
  }, 180_000);
});
