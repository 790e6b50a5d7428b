// MediaTek scatter reader: the general block and every partition block read back as the
// generator wrote them, each image round-trips (raw and sparse), the not-upgradable rule, and bad
// scatter files fail with exit 3 naming the partition.

import { mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openMediatekRelease } from '../../src/release/mediatek-scatter.js';
import { parseScatter } from '../../src/release/scatter-format.js';
import {
  MTK_SCATTER_NAME,
  makeMediatekRelease,
  type MediatekRelease,
} from '../release-fixtures/make-mediatek-release.js';
import { expectImageError, expectReleaseMatches, readAll, scratch } from './release-test-kit.js';

const tmp = scratch('ota-mtk-');
let v1: MediatekRelease;
let v2: MediatekRelease;

beforeAll(async () => {
  v1 = await makeMediatekRelease(join(tmp.dir, 'v1'), 1);
  v2 = await makeMediatekRelease(join(tmp.dir, 'v2'), 2);
});
afterAll(() => tmp.cleanup());

/** A fresh v1 copy whose scatter text is passed through `edit`. */
async function editedRelease(name: string, edit: (text: string) => string): Promise<string> {
  const dir = join(tmp.dir, name);
  const r = await makeMediatekRelease(dir, 1);
  writeFileSync(r.scatterPath, edit(readFileSync(r.scatterPath, 'utf8')));
  return dir;
}

/** Replaces `field: old` with `field: value` inside the block of partition `name`. */
function setField(text: string, name: string, field: string, value: string): string {
  const start = text.indexOf(`partition_name: ${name}\n`);
  const end = text.indexOf('- partition_index', start);
  const block = text.slice(start, end).replace(new RegExp(`( ${field}: )[^\\n]*`), `$1${value}`);
  return text.slice(0, start) + block + text.slice(end);
}

describe('openMediatekRelease', () => {
  test('reads the platform, storage and every block as written', async () => {
    const release = await openMediatekRelease(v1.path);
    expect(release).toMatchObject({
      layout: 'mediatek-scatter',
      vendor: 'mediatek',
      platform: 'MT6789',
      storage: 'ufs',
    });
    expect(release.partitions.map((p) => p.placement)).toEqual(
      v1.entries.map((e) => ({
        kind: 'mediatek',
        region: e.region,
        addressBytes: e.startBytes,
        physicalAddressBytes: e.startBytes,
        operationType: e.operationType,
      })),
    );
    const reasons = Object.fromEntries(release.partitions.map((p) => [p.name, p.notUpgradableReason]));
    expect(reasons).toMatchObject({
      preloader: 'operation_type BOOTLOADERS',
      pgpt: 'no image in the release (file_name NONE)',
      nvram: 'no image in the release (file_name NONE)',
      lk_a: undefined,
      boot_a: undefined,
      super: undefined,
      userdata: undefined,
      persist: undefined,
      logo: undefined,
      lk_b: 'no image in the release (file_name NONE)',
      metadata: 'no image in the release (file_name NONE)',
    });
    expect(release.partitions.filter((p) => p.upgradable).map((p) => p.name)).toEqual([
      'persist',
      'logo',
      'lk_a',
      'boot_a',
      'dtbo_a',
      'vbmeta_a',
      'super',
      'userdata',
    ]);
    const info = parseScatter(readFileSync(v1.scatterPath, 'utf8'), MTK_SCATTER_NAME).info;
    expect(Object.fromEntries(info)).toEqual({
      config_version: 'V2.1.0',
      platform: 'MT6789',
      project: 'k6789v1_64',
      storage: 'UFS',
      boot_channel: 'NONE',
      block_size: '0x20000',
    });
  });

  test('A/B: both slots listed, slot b with file_name NONE and is_download false, each at its own address', async () => {
    const release = await openMediatekRelease(v2.path);
    const get = (n: string) => release.partitions.find((p) => p.name === n)!;
    const addr = (n: string) => get(n).placement as { addressBytes: number; region: string };
    for (const name of ['lk', 'boot', 'dtbo', 'vbmeta']) {
      const [a, b] = [get(`${name}_a`), get(`${name}_b`)];
      expect([a.fileName, a.upgradable, b.fileName, b.upgradable, b.layoutSizeBytes]).toEqual([
        a.fileName,
        true,
        undefined,
        false,
        a.layoutSizeBytes,
      ]);
      expect(a.fileName).toMatch(new RegExp(`^${name}\\.img$`));
      expect(addr(`${name}_b`)).toMatchObject({
        region: 'UFS_LU2',
        addressBytes: addr(`${name}_a`).addressBytes + a.layoutSizeBytes!,
      });
      await expectImageError(b.open(), 'RELEASE_NO_IMAGE', [`${name}_b`]);
    }
    const text = readFileSync(v2.scatterPath, 'utf8');
    expect(text).toContain('  partition_name: boot_b\n  file_name: NONE\n  is_download: false\n');
  });

  test('slot b naming the same file as slot a is read, not refused', async () => {
    const dir = await editedRelease('same-file', (t) =>
      setField(setField(t, 'boot_b', 'file_name', 'boot.img'), 'boot_b', 'is_download', 'true'),
    );
    const release = await openMediatekRelease(dir);
    const [a, b] = ['boot_a', 'boot_b'].map((n) => release.partitions.find((p) => p.name === n)!);
    expect([b!.fileName, b!.upgradable]).toEqual(['boot.img', true]);
    const [sa, sb] = await Promise.all([a!.open(), b!.open()]);
    expect((await readAll(sb)).equals(await readAll(sa))).toBe(true);
    await Promise.all([sa.close(), sb.close()]);
  });

  test('round trip from the folder and from the scatter file, v1 and v2', async () => {
    await expectReleaseMatches(await openMediatekRelease(v1.path), v1);
    await expectReleaseMatches(await openMediatekRelease(v2.scatterPath), v2);
  });

  test('v2 grows super and moves userdata', async () => {
    const [a, b] = await Promise.all([openMediatekRelease(v1.path), openMediatekRelease(v2.path)]);
    const get = (r: typeof a, n: string) => r.partitions.find((p) => p.name === n)!;
    expect(get(a, 'super').layoutSizeBytes).toBe(640 * 1024);
    expect(get(b, 'super').layoutSizeBytes).toBe(1024 * 1024);
    const addr = (r: typeof a) => (get(r, 'userdata').placement as { addressBytes: number }).addressBytes;
    expect(addr(b) - addr(a)).toBe(384 * 1024);
  });

  test('each not-upgradable rule', async () => {
    const dir = await editedRelease('rules', (t) => {
      let x = setField(t, 'lk_a', 'is_upgradable', 'false');
      x = setField(x, 'boot_a', 'is_download', 'false');
      x = setField(x, 'vbmeta_a', 'operation_type', 'PROTECTED');
      x = setField(x, 'preloader_backup', 'operation_type', 'UPDATE');
      return x;
    });
    const reasons = Object.fromEntries(
      (await openMediatekRelease(dir)).partitions.map((p) => [p.name, p.notUpgradableReason]),
    );
    expect(reasons).toMatchObject({
      lk_a: 'is_upgradable: false',
      boot_a: 'is_download: false',
      vbmeta_a: 'operation_type PROTECTED',
      preloader_backup: 'boot region UFS_LU1',
      otp: 'no image in the release (file_name NONE)',
    });
  });
});

describe('openMediatekRelease refuses bad scatter files (exit 3, naming the partition)', () => {
  test('path escapes: ../, absolute, symlink out; nothing outside is read', async () => {
    writeFileSync(join(tmp.dir, 'secret.bin'), Buffer.alloc(4096, 1));
    const up = await editedRelease('up', (t) => setField(t, 'boot_a', 'file_name', '../secret.bin'));
    await expectImageError(openMediatekRelease(up), 'RELEASE_PATH_ESCAPE', [
      `${up}/${MTK_SCATTER_NAME}: boot_a`,
      '../secret.bin',
    ]);
    const abs = await editedRelease('abs', (t) => setField(t, 'boot_a', 'file_name', join(tmp.dir, 'secret.bin')));
    await expectImageError(openMediatekRelease(abs), 'RELEASE_PATH_ESCAPE', ['boot_a', 'absolute path']);
    const link = await editedRelease('link', (t) => t);
    unlinkSync(join(link, 'lk.img'));
    symlinkSync(join(tmp.dir, 'secret.bin'), join(link, 'lk.img'));
    await expectImageError(openMediatekRelease(link), 'RELEASE_PATH_ESCAPE', ['lk_a', 'outside the release folder']);
  });

  test('overlap, too big, missing file, malformed numbers and booleans, duplicates', async () => {
    const overlap = await editedRelease('overlap', (t) => setField(t, 'boot_a', 'linear_start_addr', '0x4000000'));
    await expectImageError(openMediatekRelease(overlap), 'RELEASE_OVERLAP', ['boot_a', 'overlaps', 'UFS_LU2']);
    const big = await editedRelease('big', (t) => setField(t, 'boot_a', 'partition_size', '0x10000'));
    await expectImageError(openMediatekRelease(big), 'RELEASE_TOO_BIG', ['boot_a', '196608 bytes', '65536 bytes']);
    const bigSparse = await editedRelease('big-sparse', (t) => setField(t, 'super', 'partition_size', '0x40000'));
    await expectImageError(openMediatekRelease(bigSparse), 'RELEASE_TOO_BIG', [
      'super',
      'sparse image super.img expands to 458752',
    ]);
    const missing = await editedRelease('missing', (t) => t);
    unlinkSync(join(missing, 'vbmeta.img'));
    // The release opens; the partition is unavailable, and opening it is the error (a build refuses
    // it only when it selects it).
    const opened = await openMediatekRelease(missing);
    const vbmeta = opened.partitions.find((p) => p.name === 'vbmeta_a')!;
    expect(vbmeta.unavailable?.code).toBe('RELEASE_MISSING_FILE');
    await expectImageError(vbmeta.open(), 'RELEASE_MISSING_FILE', ['vbmeta_a', 'vbmeta.img']);
    const num = await editedRelease('num', (t) => setField(t, 'lk_a', 'partition_size', '0xZZ'));
    await expectImageError(openMediatekRelease(num), 'RELEASE_BAD_LAYOUT', ['lk_a', 'partition_size "0xZZ"']);
    const huge = await editedRelease('huge', (t) => setField(t, 'lk_a', 'linear_start_addr', '0xffffffffffffffff'));
    await expectImageError(openMediatekRelease(huge), 'RELEASE_BAD_LAYOUT', ['lk_a', 'linear_start_addr']);
    const bool = await editedRelease('bool', (t) => setField(t, 'lk_a', 'is_download', 'yes'));
    await expectImageError(openMediatekRelease(bool), 'RELEASE_BAD_LAYOUT', ['lk_a', 'is_download "yes"']);
    const dup = await editedRelease('dup', (t) => t.replace('partition_name: vbmeta_a', 'partition_name: boot_a'));
    await expectImageError(openMediatekRelease(dup), 'RELEASE_BAD_LAYOUT', ['boot_a', 'appears twice']);
  });

  test('text that is not a scatter file, and folders with no or two scatter files', async () => {
    const garbage = await editedRelease('garbage', (t) => t.replace('  partition_name: lk_a', 'partition_name lk_a'));
    await expectImageError(openMediatekRelease(garbage), 'RELEASE_BAD_LAYOUT', [
      MTK_SCATTER_NAME,
      'line',
      'not a "key: value" line',
    ]);
    const old = await editedRelease('old', () => 'PRELOADER 0x0\n{\n}\n');
    await expectImageError(openMediatekRelease(old), 'RELEASE_BAD_LAYOUT', ['line 1']);
    const noGeneral = await editedRelease('no-general', (t) =>
      t.replace('- general: MTK_PLATFORM_CFG', '- general: OTHER'),
    );
    await expectImageError(openMediatekRelease(noGeneral), 'RELEASE_BAD_LAYOUT', ['expected MTK_PLATFORM_CFG']);
    const none = join(tmp.dir, 'none');
    mkdirSync(none);
    await expectImageError(openMediatekRelease(none), 'RELEASE_BAD_LAYOUT', ['no *_Android_scatter.txt']);
    const two = await editedRelease('two', (t) => t);
    writeFileSync(join(two, 'MT6768_Android_scatter.txt'), readFileSync(join(two, MTK_SCATTER_NAME)));
    await expectImageError(openMediatekRelease(two), 'RELEASE_BAD_LAYOUT', ['2 scatter files']);
  });
});
