// Qualcomm rawprogram reader: values read back equal the generator's, every partition's bytes
// round-trip (raw and sparse), and bad layouts fail with exit 3 naming the entry.

import { mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openQualcommRelease } from '../../src/release/qualcomm-rawprogram.js';
import { isPartitionName } from '../../src/model/partition-name.js';
import { makeQualcommRelease, type QualcommRelease } from '../release-fixtures/make-qualcomm-release.js';
import { expectImageError, expectReleaseMatches, readAll, scratch } from './release-test-kit.js';

const tmp = scratch('ota-qcom-');
let v1: QualcommRelease;
let v2: QualcommRelease;

beforeAll(async () => {
  v1 = await makeQualcommRelease(join(tmp.dir, 'v1'), 1);
  v2 = await makeQualcommRelease(join(tmp.dir, 'v2'), 2);
});
afterAll(() => tmp.cleanup());

/** A fresh v1 copy whose rawprogram<lun>.xml is passed through `edit`. */
async function editedRelease(name: string, lun: number, edit: (xml: string) => string): Promise<string> {
  const dir = join(tmp.dir, name);
  await makeQualcommRelease(dir, 1);
  const xmlPath = join(dir, `rawprogram${lun}.xml`);
  writeFileSync(xmlPath, edit(readFileSync(xmlPath, 'utf8')));
  return dir;
}

describe('openQualcommRelease', () => {
  test('reads every <program> with its layout values, in LUN then file order', async () => {
    const release = await openQualcommRelease(v1.path);
    expect(release.layout).toBe('qualcomm-rawprogram');
    expect(release.storage).toBe('ufs');
    const written = [...v1.luns].flatMap(([lun, programs]) => programs.map((p) => ({ lun, ...p })));
    expect(release.partitions.map((p) => p.placement)).toEqual(
      written.map((p) => ({
        kind: 'qualcomm',
        lun: p.lun,
        startSector: typeof p.start === 'number' ? p.start : undefined,
        startSectorText: String(p.start),
        sectorSizeBytes: 4096,
        sectorCount: p.sectors,
      })),
    );
    const reasons = Object.fromEntries(
      release.partitions.filter((p) => !p.upgradable).map((p) => [p.name, p.notUpgradableReason]),
    );
    expect(reasons['PrimaryGPT.lun0']).toBe('GPT partition table');
    expect(reasons['BackupGPT.lun4']).toBe('GPT partition table');
    // Names a package can carry, so --partitions can include them.
    for (const name of Object.keys(reasons)) expect(isPartitionName(name), name).toBe(true);
    expect(reasons['boot_b']).toBe('no image in the release');
    expect(reasons['metadata']).toBe('no image in the release');
    expect(reasons['modemst1']).toBe('no image in the release');
    expect(release.partitions.filter((p) => p.upgradable).map((p) => p.name)).toEqual([
      'persist',
      'super',
      'userdata',
      'xbl_a',
      'xbl_b',
      'abl_a',
      'abl_b',
      'boot_a',
      'dtbo_a',
      'vbmeta_a',
      'splash',
    ]);
  });

  test("A/B: both slots are reported with their own placement; slot b has no file or slot a's file", async () => {
    const release = await openQualcommRelease(v2.path);
    const get = (n: string) => release.partitions.find((p) => p.name === n)!;
    const at = (n: string) => {
      const pl = get(n).placement as { lun: number; startSector: number };
      return [pl.lun, pl.startSector];
    };
    // xbl: one per boot LUN, the same file for both slots.
    expect([at('xbl_a'), at('xbl_b')]).toEqual([
      [1, 6],
      [2, 6],
    ]);
    expect([get('xbl_a').fileName, get('xbl_b').fileName, get('xbl_b').upgradable]).toEqual([
      'xbl.elf',
      'xbl.elf',
      true,
    ]);
    // boot/dtbo/vbmeta: slot b has filename="" → no file, not a missing file, and no image to open.
    for (const name of ['boot', 'dtbo', 'vbmeta']) {
      const [a, b] = [get(`${name}_a`), get(`${name}_b`)];
      expect([a.fileName, a.upgradable, b.fileName, b.upgradable, b.layoutSizeBytes]).toEqual([
        `${name}.img`,
        true,
        undefined,
        false,
        a.layoutSizeBytes,
      ]);
      const [lunA, startA] = at(`${name}_a`);
      const sectors = (a.placement as { sectorCount: number }).sectorCount;
      expect(at(`${name}_b`)).toEqual([lunA, startA! + sectors]);
      await expectImageError(b.open(), 'RELEASE_NO_IMAGE', [`${name}_b`, 'names no image file']);
    }
    expect(at('boot_a')).toEqual([4, 6 + 16 + 16]);
    const xml = readFileSync(join(v2.path, 'rawprogram4.xml'), 'utf8');
    expect(xml).toMatch(/filename="" label="boot_b"/);
    expect(xml).toMatch(/filename="abl.elf" label="abl_b"/);
  });

  test('slot b naming the same file as slot a reads the same bytes', async () => {
    const dir = await editedRelease('same-file', 4, (x) =>
      x.replace('filename="" label="boot_b"', 'filename="boot.img" label="boot_b"'),
    );
    const release = await openQualcommRelease(dir);
    const [a, b] = ['boot_a', 'boot_b'].map((n) => release.partitions.find((p) => p.name === n)!);
    expect([b!.fileName, b!.upgradable]).toEqual(['boot.img', true]);
    const [sa, sb] = await Promise.all([a!.open(), b!.open()]);
    expect((await readAll(sb)).equals(await readAll(sa))).toBe(true);
    await Promise.all([sa.close(), sb.close()]);
  });

  test('round trip: each partition reads back byte for byte (v1 and v2), from the folder or one XML file', async () => {
    for (const generated of [v1, v2]) {
      const release = await openQualcommRelease(generated.path);
      await expectReleaseMatches(release, generated);
      await release.close();
    }
    const lun4 = await openQualcommRelease(join(v2.path, 'rawprogram4.xml'));
    expect(lun4.partitions.map((p) => p.name)).toEqual([
      'PrimaryGPT',
      'abl_a',
      'abl_b',
      'boot_a',
      'boot_b',
      'dtbo_a',
      'dtbo_b',
      'vbmeta_a',
      'vbmeta_b',
      'devinfo',
      'splash',
      'modemst1',
      'modemst2',
      'fsg',
      'BackupGPT',
    ]);
  });

  test('v2 grows super and moves what follows it on LUN 0', async () => {
    const [a, b] = await Promise.all([openQualcommRelease(v1.path), openQualcommRelease(v2.path)]);
    const get = (r: typeof a, n: string) => r.partitions.find((p) => p.name === n)!;
    expect(get(b, 'super').layoutSizeBytes).toBeGreaterThan(get(a, 'super').layoutSizeBytes!);
    const grown = await get(b, 'super').open();
    expect(grown.sizeBytes).toBeGreaterThan(get(a, 'super').layoutSizeBytes!);
    await grown.close();
    const start = (r: typeof a) => (get(r, 'userdata').placement as { startSector: number }).startSector;
    expect(start(b) - start(a)).toBe(160 - 128);
  });

  test('eMMC layout (512-byte sectors) with expression starts and a trailing "." on numbers', async () => {
    const dir = join(tmp.dir, 'emmc');
    mkdirSync(dir);
    writeFileSync(join(dir, 'boot.img'), Buffer.alloc(8192, 7));
    writeFileSync(
      join(dir, 'rawprogram0.xml'),
      `<?xml version="1.0" ?><data>
      <program SECTOR_SIZE_IN_BYTES="512" filename="boot.img" label="boot" num_partition_sectors="32." physical_partition_number="0" sparse="false" start_sector="34."/>
      <program SECTOR_SIZE_IN_BYTES="512" filename="" label="last_parti" num_partition_sectors="0" physical_partition_number="0" start_sector="NUM_DISK_SECTORS-33."/></data>`,
    );
    const release = await openQualcommRelease(dir);
    expect(release.storage).toBe('emmc');
    expect(release.partitions.map((p) => [p.name, p.layoutSizeBytes, p.upgradable])).toEqual([
      ['boot', 16384, true],
      ['last_parti', undefined, false],
    ]);
    expect(release.partitions[1]!.placement).toMatchObject({
      startSector: undefined,
      startSectorText: 'NUM_DISK_SECTORS-33.',
    });
  });
});

describe('openQualcommRelease refuses bad layouts (exit 3, naming the entry)', () => {
  test('a file name with ../ never reads outside the folder', async () => {
    const outside = join(tmp.dir, 'secret.img');
    writeFileSync(outside, Buffer.alloc(4096, 0x5a));
    const dir = await editedRelease('escape-dotdot', 4, (x) =>
      x.replace('filename="boot.img" label="boot_a"', 'filename="../secret.img" label="boot_a"'),
    );
    await expectImageError(openQualcommRelease(dir), 'RELEASE_PATH_ESCAPE', [
      'rawprogram4.xml: boot_a',
      '../secret.img',
      '".." segment',
    ]);
    const abs = await editedRelease('escape-abs', 4, (x) =>
      x.replace('filename="boot.img" label="boot_a"', `filename="${outside}" label="boot_a"`),
    );
    await expectImageError(openQualcommRelease(abs), 'RELEASE_PATH_ESCAPE', ['boot_a', 'absolute path']);
    const win = await editedRelease('escape-win', 4, (x) =>
      x.replace('filename="boot.img" label="boot_a"', 'filename="..\\secret.img" label="boot_a"'),
    );
    await expectImageError(openQualcommRelease(win), 'RELEASE_PATH_ESCAPE', ['boot_a']);
  });

  test('a symlink that leads outside the folder is refused', async () => {
    const outside = join(tmp.dir, 'outside-boot.img');
    writeFileSync(outside, Buffer.alloc(4096, 0x33));
    const dir = await editedRelease('escape-link', 4, (x) => x);
    unlinkSync(join(dir, 'boot.img'));
    symlinkSync(outside, join(dir, 'boot.img'));
    await expectImageError(openQualcommRelease(dir), 'RELEASE_PATH_ESCAPE', [
      'boot_a',
      'boot.img',
      'outside the release folder',
    ]);
  });

  test('overlapping entries on one LUN', async () => {
    const dir = await editedRelease('overlap', 4, (x) =>
      x.replace(/(label="boot_b" num_partition_sectors="64"[^>]*start_sector=")\d+"/, '$140"'),
    );
    await expectImageError(openQualcommRelease(dir), 'RELEASE_OVERLAP', [
      'rawprogram4.xml: boot_b',
      'overlaps',
      'LUN 4',
    ]);
  });

  test('an image larger than its partition (sparse: by its expanded size)', async () => {
    const raw = await editedRelease('too-big', 4, (x) =>
      x.replace(/label="boot_a" num_partition_sectors="64"/, 'label="boot_a" num_partition_sectors="40"'),
    );
    await expectImageError(openQualcommRelease(raw), 'RELEASE_TOO_BIG', [
      'rawprogram4.xml: boot_a',
      '196608 bytes',
      '163840 bytes',
    ]);
    const sparse = await editedRelease('too-big-sparse', 0, (x) =>
      x.replace(/label="super" num_partition_sectors="128"/, 'label="super" num_partition_sectors="100"'),
    );
    await expectImageError(openQualcommRelease(sparse), 'RELEASE_TOO_BIG', [
      'super',
      'sparse image super.img expands to 458752 bytes',
    ]);
  });

  test('a missing file, malformed numbers, bad XML, a sparse flag that lies, split images', async () => {
    const missing = await editedRelease('missing', 4, (x) => x);
    unlinkSync(join(missing, 'boot.img'));
    const opened = await openQualcommRelease(missing);
    const boot = opened.partitions.find((p) => p.name === 'boot_a')!;
    expect(boot.unavailable?.code).toBe('RELEASE_MISSING_FILE');
    await expectImageError(boot.open(), 'RELEASE_MISSING_FILE', ['boot_a', 'boot.img']);
    const badNumber = await editedRelease('bad-number', 4, (x) =>
      x.replace('label="abl_a" num_partition_sectors="16"', 'label="abl_a" num_partition_sectors="1x6"'),
    );
    await expectImageError(openQualcommRelease(badNumber), 'RELEASE_BAD_LAYOUT', [
      'rawprogram4.xml: abl_a',
      'num_partition_sectors="1x6"',
    ]);
    const badStart = await editedRelease('bad-start', 4, (x) =>
      x.replace(/(label="abl_a"[^>]*start_sector=")\d+"/, '$1-5"'),
    );
    await expectImageError(openQualcommRelease(badStart), 'RELEASE_BAD_LAYOUT', ['abl_a', 'start_sector "-5"']);
    const badXml = await editedRelease('bad-xml', 1, (x) => x.replace('</data>', ''));
    // Named with its release's folder: --old and --new both hold a rawprogram1.xml.
    await expectImageError(openQualcommRelease(badXml), 'RELEASE_BAD_LAYOUT', [
      `${badXml}/rawprogram1.xml: not well-formed XML`,
    ]);
    const dtd = await editedRelease('dtd', 1, (x) => x.replace('<data>', '<!DOCTYPE data [<!ENTITY a "aaaa">]><data>'));
    await expectImageError(openQualcommRelease(dtd), 'RELEASE_BAD_LAYOUT', ['rawprogram1.xml', 'DTD']);
    const liar = await editedRelease('sparse-liar', 4, (x) =>
      x.replace(/(label="boot_a"[^>]*sparse=")false"/, '$1true"'),
    );
    await expectImageError(openQualcommRelease(liar), 'RELEASE_BAD_LAYOUT', [
      'boot_a',
      'sparse="true"',
      'not an Android sparse image',
    ]);
    const split = await editedRelease('split', 4, (x) => x.replace('label="boot_b"', 'label="boot_a"'));
    await expectImageError(openQualcommRelease(split), 'RELEASE_DUPLICATE_LABEL', [
      'label boot_a',
      '2 <program> entries',
      'not supported',
    ]);
    const sector = await editedRelease('sector', 1, (x) =>
      x.replace(
        'SECTOR_SIZE_IN_BYTES="4096" file_sector_offset="0" filename="xbl.elf"',
        'SECTOR_SIZE_IN_BYTES="1000" file_sector_offset="0" filename="xbl.elf"',
      ),
    );
    await expectImageError(openQualcommRelease(sector), 'RELEASE_BAD_LAYOUT', ['xbl_a', 'SECTOR_SIZE_IN_BYTES 1000']);
  });

  test('a folder without rawprogram files', async () => {
    const dir = join(tmp.dir, 'empty');
    mkdirSync(dir);
    await expectImageError(openQualcommRelease(dir), 'RELEASE_BAD_LAYOUT', ['no rawprogram*.xml']);
  });
});
