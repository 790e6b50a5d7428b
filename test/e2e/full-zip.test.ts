// A full package (no old image) of an image holding zip archives, through the real CLI: its
// chunks of deflated members become sourceless deflate-aware DIFF ops (format 1.4), smaller than
// any codec makes of the deflated bytes, and build → verify → apply gives exactly the image. A full
// package of AArch64 code, whose xz blob uses the ARM64 chain, is written as 1.4 too.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PackageReader } from '../../src/package/package-reader.js';
import { HEADER_FIELD } from '../helpers/package-bytes.js';
import { runCliOk } from '../helpers/run-cli.js';
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
});
