// Real filesystem images end to end (issue: sparse in and out). Two ext4 images of 64 MiB are
// built with `mke2fs -d` from real files (this project's node_modules) at two "versions", and
// converted with `img2simg`. Building from the sparse pair and from the raw pair must give
// byte-identical packages; `apply --output-format sparse` must expand with `simg2img` to the new
// image, which `e2fsck -fn` must find clean. The tools are required: missing ones fail the test.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackageReader } from '../../src/package/package-reader.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/ota-build.js');
const work = mkdtempSync(join(tmpdir(), 'ota-ext4-'));
const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000', E2FSPROGS_FAKE_TIME: '1700000000' };
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tool(name: string, args: string[], pkg: string): string {
  const r = spawnSync(name, args, { encoding: 'utf8', env });
  expect(r.error, `${name} is required: apt-get install ${pkg}`).toBeUndefined();
  expect(r.status, `${name} ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  expect(r.status, `ota-build ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function mkext4(dir: string, image: string): void {
  tool(
    'mke2fs',
    [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-b',
      '4096',
      '-L',
      'system',
      '-U',
      '6a5b8d2e-1c3f-4e7a-9b0d-2f4e6a8c0b1d',
      '-E',
      'hash_seed=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0,root_owner=0:0',
      '-O',
      '^has_journal',
      '-d',
      dir,
      image,
      '64M',
    ],
    'e2fsprogs',
  );
}

beforeAll(() => {
  // v1: real files; v2: a few files changed (grown, rewritten), one removed, one added.
  const v1 = join(work, 'v1');
  mkdirSync(v1);
  for (const pkg of ['typescript/lib', 'protobufjs', 'commander', 'fast-check/lib', 'zstd-napi', 'lzma-native/deps']) {
    cpSync(join(root, 'node_modules', pkg), join(v1, pkg.replace('/', '_')), { recursive: true, dereference: true });
  }
  const v2 = join(work, 'v2');
  cpSync(v1, v2, { recursive: true });
  appendFileSync(join(v2, 'typescript_lib', 'typescript.js'), '\n// patched in v2\n'.repeat(200));
  const tsc = join(v2, 'typescript_lib', 'tsc.js');
  writeFileSync(tsc, readFileSync(tsc, 'utf8').replace(/function /g, 'function  '));
  rmSync(join(v2, 'commander'), { recursive: true });
  cpSync(join(root, 'node_modules', 'ora'), join(v2, 'ora'), { recursive: true, dereference: true });
  for (const v of ['v1', 'v2']) {
    mkext4(join(work, v), join(work, `${v}.img`));
    tool('img2simg', [join(work, `${v}.img`), join(work, `${v}.simg`)], 'android-sdk-libsparse-utils');
  }
}, 300_000);

describe('ext4 images, raw and sparse', () => {
  it('are ≥ 64 MiB, and the sparse forms are smaller files', () => {
    expect(readFileSync(join(work, 'v1.img')).length).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(readFileSync(join(work, 'v2.simg')).length).toBeLessThan(64 * 1024 * 1024);
  });

  it('build from img2simg images and from raw images gives byte-identical packages', () => {
    cli(['build', '--old', join(work, 'v1.simg'), '--new', join(work, 'v2.simg'), '-o', join(work, 'from-sparse')]);
    const json = JSON.parse(
      cli([
        'build',
        '--old',
        join(work, 'v1.img'),
        '--new',
        join(work, 'v2.img'),
        '-o',
        join(work, 'from-raw'),
        '--json',
      ]),
    );
    expect(json.source.format).toBe('raw');
    for (const t of ['qualcomm', 'mediatek', 'unisoc']) {
      const a = readFileSync(join(work, 'from-sparse', `update-${t}.otapkg`));
      expect(a.equals(readFileSync(join(work, 'from-raw', `update-${t}.otapkg`))), t).toBe(true);
    }
    // Only the packages and their properties files are left: no spool, no expanded copy of an input.
    expect(readdirSync(join(work, 'from-sparse')).sort()).toEqual([
      'update-mediatek.otapkg',
      'update-mediatek.properties.json',
      'update-qualcomm.otapkg',
      'update-qualcomm.properties.json',
      'update-unisoc.otapkg',
      'update-unisoc.properties.json',
    ]);
    const sparseJson = JSON.parse(cli(['inspect', join(work, 'from-sparse', 'update-qualcomm.otapkg'), '--json']));
    expect(sparseJson.partitions[0].target.claim).toBe('full');
    expect(sparseJson.partitions[0].target.sha256).toBe(sha256(join(work, 'v2.img')));
  }, 300_000);

  it('apply --output-format sparse expands with simg2img to the new image, and e2fsck finds it clean', () => {
    const pkg = join(work, 'from-sparse', 'update-qualcomm.otapkg');
    const before = sha256(join(work, 'v1.simg'));
    const out = JSON.parse(
      cli(['apply', pkg, '--old', join(work, 'v1.simg'), '-o', join(work, 'applied.simg'), '--json']),
    );
    expect(out.outputFormat).toBe('sparse');
    expect(sha256(join(work, 'v1.simg'))).toBe(before);
    tool('simg2img', [join(work, 'applied.simg'), join(work, 'applied.img')], 'android-sdk-libsparse-utils');
    expect(sha256(join(work, 'applied.img'))).toBe(sha256(join(work, 'v2.img')));
    tool('e2fsck', ['-fn', join(work, 'applied.img')], 'e2fsprogs');
    // Raw old → sparse output on request, and sparse old → raw output on request.
    cli(['apply', pkg, '--old', join(work, 'v1.img'), '-o', join(work, 'applied2.simg'), '--output-format', 'sparse']);
    execFileSync('simg2img', [join(work, 'applied2.simg'), join(work, 'applied2.img')]);
    expect(sha256(join(work, 'applied2.img'))).toBe(sha256(join(work, 'v2.img')));
    cli(['apply', pkg, '--old', join(work, 'v1.simg'), '-o', join(work, 'applied3.img'), '--output-format', 'raw']);
    expect(sha256(join(work, 'applied3.img'))).toBe(sha256(join(work, 'v2.img')));
    cli(['verify', pkg, '--old', join(work, 'v1.simg')]);
  }, 300_000);

  it('a full package, whose gathered ops are out of destination order, applies as sparse too (staged raw, no side files left)', async () => {
    // zstd -3: the ops are gathered the same way as with the default codecs, in a fifth of the time.
    const args = ['build', '--new', join(work, 'v2.img'), '-o', join(work, 'full'), '--target', 'generic'];
    cli([...args, '--codec', 'zstd', '--level', '3']);
    const pkg = join(work, 'full', 'update-generic.otapkg');
    const reader = await PackageReader.open(pkg);
    let lastEnd = 0;
    let backwards = 0;
    for (const op of reader.manifest.partitions[0]!.operations)
      for (const e of op.dst) {
        if (e.startBlock < lastEnd) backwards++;
        lastEnd = e.startBlock + e.blockCount;
      }
    await reader.close();
    expect(backwards, 'some op writes before the end of an earlier one').toBeGreaterThan(0);
    const outDir = join(work, 'full-out');
    mkdirSync(outDir);
    cli(['apply', pkg, '-o', join(outDir, 'v2.simg'), '--output-format', 'sparse', '--device-target', 'generic']);
    expect(readdirSync(outDir)).toEqual(['v2.simg']);
    execFileSync('simg2img', [join(outDir, 'v2.simg'), join(outDir, 'v2.img')]);
    expect(sha256(join(outDir, 'v2.img'))).toBe(sha256(join(work, 'v2.img')));
  }, 300_000);
});
