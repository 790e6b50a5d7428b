// Unisoc PAC reader: both layouts decode to what the generator wrote, entries round-trip in place
// (raw and sparse inside the PAC), the BMAConfig decides names, sizes and loaders, and damaged
// PACs fail with exit 3 naming the field or entry.

import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  PAC_ENTRY_BYTES,
  PAC_HEADER_BYTES,
  PacVersion,
  crc16Arc,
  decodePacEntry,
  decodePacHeader,
} from '../../src/release/pac-format.js';
import { openUnisocPac, readPac } from '../../src/release/unisoc-pac.js';
import {
  PAC_PRODUCT,
  encodePac,
  fixtureCrc16,
  makeUnisocPac,
  refreshPacCrcs,
  type UnisocRelease,
} from '../release-fixtures/make-unisoc-pac.js';
import { expectImageError, expectReleaseMatches, scratch } from './release-test-kit.js';

const tmp = scratch('ota-pac-');
let r1: UnisocRelease;
let r2: UnisocRelease;
let r2v2: UnisocRelease;

beforeAll(async () => {
  r1 = await makeUnisocPac(tmp.dir, 1, { pacVersion: 'BP_R1.0.0', fileName: 'r1.pac' });
  r2 = await makeUnisocPac(tmp.dir, 1, { pacVersion: 'BP_R2.0.1', fileName: 'r2.pac' });
  r2v2 = await makeUnisocPac(tmp.dir, 2, { pacVersion: 'BP_R2.0.1', fileName: 'r2v2.pac' });
});
afterAll(() => tmp.cleanup());

/** Writes a copy of `from`'s bytes passed through `edit` (CRCs refreshed unless told not to). */
function damaged(from: UnisocRelease, name: string, edit: (pac: Buffer) => void, refresh = true): string {
  const pac = readFileSync(from.path);
  edit(pac);
  if (refresh) refreshPacCrcs(pac);
  const path = join(tmp.dir, name);
  writeFileSync(path, pac);
  return path;
}
const entryAt = (i: number): number => PAC_HEADER_BYTES + i * PAC_ENTRY_BYTES;
const CONFIG_ONLY = 'no image in the PAC (listed in the config only)';

describe('pac-format', () => {
  test('CRC-16/ARC check value, piecewise, and agreement with the bitwise fixture CRC', () => {
    expect(crc16Arc(Buffer.from('123456789'))).toBe(0xbb3d);
    expect(crc16Arc(Buffer.from('56789'), crc16Arc(Buffer.from('1234')))).toBe(0xbb3d);
    const data = readFileSync(r1.path).subarray(0, 50_000);
    expect(crc16Arc(data)).toBe(fixtureCrc16(data));
  });

  test('both header and entry layouts decode to the values written', () => {
    for (const r of [r1, r2]) {
      const bytes = readFileSync(r.path);
      const header = decodePacHeader(bytes);
      expect(header).toMatchObject({
        version: r.pacVersion,
        totalSizeBytes: bytes.length,
        productName: PAC_PRODUCT,
        firmwareName: `${PAC_PRODUCT}_v1`,
        entryCount: r.entries.length,
        entryListOffsetBytes: PAC_HEADER_BYTES,
        flashType: 2,
        nvBackup: 1,
        productAlias: PAC_PRODUCT,
        magic: 0xfffafffa,
      });
      r.entries.forEach((want, i) => {
        const got = decodePacEntry(
          bytes.subarray(entryAt(i), entryAt(i + 1)),
          r.pacVersion === 'BP_R1.0.0' ? PacVersion.r1 : PacVersion.r2,
        );
        expect(got).toMatchObject({
          entryBytes: PAC_ENTRY_BYTES,
          fileId: want.fileId,
          fileName: want.fileName,
          sizeBytes: want.data.length,
          fileFlag: want.fileFlag,
          checkFlag: want.checkFlag,
          dataOffsetBytes: want.offsetBytes,
          addressCount: want.address ? 1 : 0,
          addresses: [want.address, 0, 0, 0, 0],
        });
      });
    }
  });

  test('BP_R2.0.1 high words: a 64-bit size and offset decode from hi/lo', () => {
    const entry = Buffer.alloc(PAC_ENTRY_BYTES);
    entry.writeUInt32LE(1, 1532);
    entry.writeUInt32LE(2, 1536);
    entry.writeUInt32LE(5, 1540);
    entry.writeUInt32LE(7, 1552);
    expect(decodePacEntry(entry, PacVersion.r2)).toMatchObject({
      sizeBytes: 2 ** 32 + 5,
      dataOffsetBytes: 2 * 2 ** 32 + 7,
    });
    expect(decodePacEntry(entry, PacVersion.r1)).toMatchObject({ sizeBytes: 5, dataOffsetBytes: 7 });
  });
});

describe('openUnisocPac', () => {
  test('partitions named by the BMAConfig, with MiB layout sizes, loaders and NV not upgradable', async () => {
    const release = await openUnisocPac(r2.path);
    expect(release).toMatchObject({ layout: 'unisoc-pac', platform: PAC_PRODUCT });
    const view = release.partitions.map((p) => [
      p.name,
      p.placement.kind === 'unisoc' ? p.placement.partitionId : '',
      p.notUpgradableReason,
    ]);
    expect(view).toEqual([
      ['FDL', 'FDL', 'download loader (FDL)'],
      ['FDL2', 'FDL2', 'download loader (FDL2)'],
      ['l_fixnv1', 'NV_COMM', 'NV calibration data (NV_COMM), merged by the flash tool'],
      ['prodnv', 'ProdNV', 'production data the flash tool backs up and restores (backup="1")'],
      ['uboot_a', 'UBOOTLoader', undefined],
      ['uboot_b', 'uboot_b', CONFIG_ONLY],
      ['logo', 'Logo', undefined],
      ['boot_a', 'BOOT', undefined],
      ['boot_b', 'boot_b', CONFIG_ONLY],
      ['dtbo_a', 'DTBO', undefined],
      ['dtbo_b', 'dtbo_b', CONFIG_ONLY],
      ['vbmeta_a', 'VBMETA', undefined],
      ['vbmeta_b', 'vbmeta_b', CONFIG_ONLY],
      ['super', 'Super', undefined],
      ['userdata', 'UserData', undefined],
      ['miscdata', 'miscdata', CONFIG_ONLY],
      ['metadata', 'metadata', CONFIG_ONLY],
    ]);
    expect(release.partitions[0]!.placement).toEqual({ kind: 'unisoc', partitionId: 'FDL', addressBytes: 0x5500 });
    expect(release.partitions[1]!.placement).toEqual({ kind: 'unisoc', partitionId: 'FDL2', addressBytes: 0x9efffe00 });
  });

  test('A/B: slot b partitions the config lists without an entry are reported with no file and the config size', async () => {
    const release = await openUnisocPac(r2v2.path);
    const get = (n: string) => release.partitions.find((p) => p.name === n)!;
    for (const name of ['uboot', 'boot', 'dtbo', 'vbmeta']) {
      const [a, b] = [get(`${name}_a`), get(`${name}_b`)];
      expect(a.fileName).toBeDefined();
      expect(a.upgradable).toBe(true);
      expect(b).toMatchObject({
        fileName: undefined,
        upgradable: false,
        layoutSizeBytes: 1024 * 1024,
        notUpgradableReason: CONFIG_ONLY,
      });
      expect(b.placement).toEqual({ kind: 'unisoc', partitionId: `${name}_b`, addressBytes: 0 });
      await expectImageError(b.open(), 'RELEASE_NO_IMAGE', [
        'r2v2.pac',
        `partition ${name}_b`,
        'no entry carries its image',
      ]);
    }
    expect(r2v2.configXml).toContain('<Partition id="boot_b" size="1"/>');
    expect(r2v2.entries.map((e) => e.fileId)).not.toContain('BOOT_B');
  });

  test('round trip of every entry, read in place, for BP_R1.0.0, BP_R2.0.1 and the grown v2', async () => {
    await expectReleaseMatches(await openUnisocPac(r1.path), r1);
    await expectReleaseMatches(await openUnisocPac(r2.path), r2);
    await expectReleaseMatches(await openUnisocPac(r2v2.path), r2v2);
    const superV2 = (await openUnisocPac(r2v2.path)).partitions.find((p) => p.name === 'super')!;
    expect(superV2.layoutSizeBytes).toBe(2 * 1024 * 1024);
    const source = await superV2.open();
    expect(source.sizeBytes).toBeGreaterThan(1024 * 1024);
    expect(source.path).toBe('r2v2.pac:super.img');
    await source.close();
  });

  test('without a config, entries keep their ids and loaders are found by id', async () => {
    const entries = r2.entries.filter((e) => e.fileFlag !== 2).map((e) => ({ ...e }));
    const path = join(tmp.dir, 'no-config.pac');
    writeFileSync(path, encodePac('BP_R1.0.0', 'x', entries));
    const release = await openUnisocPac(path);
    expect(release.partitions.map((p) => [p.name, p.upgradable, p.layoutSizeBytes])).toEqual([
      ['FDL', false, undefined],
      ['FDL2', false, undefined],
      ['NV_COMM', true, undefined],
      ['ProdNV', true, undefined],
      ['UBOOTLoader', true, undefined],
      ['Logo', true, undefined],
      ['BOOT', true, undefined],
      ['DTBO', true, undefined],
      ['VBMETA', true, undefined],
      ['Super', true, undefined],
      ['UserData', true, undefined],
    ]);
  });
});

describe('openUnisocPac refuses damaged PACs (exit 3)', () => {
  test('wrong magic, unknown version, truncated, short', async () => {
    const magic = damaged(r2, 'magic.pac', (b) => b.writeUInt32LE(0x12345678, 2116));
    await expectImageError(openUnisocPac(magic), 'PAC_BAD_MAGIC', [
      `${magic}: bad magic at offset 2116`,
      'expected fa ff fa ff',
      'got 78 56 34 12',
    ]);
    await expectImageError(
      openUnisocPac(damaged(r2, 'version.pac', (b) => b.write('BP_R9', 0, 'utf16le'))),
      'PAC_BAD_VERSION',
      ['BP_R9'],
    );
    const cut = damaged(r2, 'cut.pac', () => undefined);
    truncateSync(cut, readFileSync(cut).length - 100);
    await expectImageError(openUnisocPac(cut), 'PAC_TRUNCATED', ['the header declares']);
    const tiny = damaged(r2, 'tiny.pac', () => undefined);
    truncateSync(tiny, 1000);
    await expectImageError(openUnisocPac(tiny), 'PAC_TRUNCATED', ['shorter than the 2124-byte PAC header']);
  });

  test('each CRC is checked and named', async () => {
    const header = damaged(
      r2,
      'crc1.pac',
      (b) => {
        b.writeUInt8(b.readUInt8(600) ^ 1, 600);
      },
      false,
    );
    await expectImageError(openUnisocPac(header), 'PAC_BAD_CRC', ['wCRC1', 'expected 0x', 'got 0x']);
    const payload = damaged(
      r2,
      'crc2.pac',
      (b) => {
        b.writeUInt8(b.readUInt8(b.length - 5) ^ 0x40, b.length - 5);
      },
      false,
    );
    await expectImageError(openUnisocPac(payload), 'PAC_BAD_CRC', ['wCRC2 at offset 2122']);
  });

  test('oversized counts and offsets, entries past the end, overlapping data', async () => {
    await expectImageError(
      openUnisocPac(damaged(r2, 'count.pac', (b) => b.writeUInt32LE(0x7fffffff, 1076))),
      'PAC_TOO_MANY_ENTRIES',
      ['nFileCount 2147483647'],
    );
    await expectImageError(
      openUnisocPac(damaged(r2, 'list.pac', (b) => b.writeUInt32LE(0xfffff000, 1080))),
      'PAC_BAD_OFFSET',
      ['entry table'],
    );
    const boot = r2.entries.findIndex((e) => e.fileId === 'BOOT');
    await expectImageError(
      openUnisocPac(damaged(r2, 'offset.pac', (b) => b.writeUInt32LE(0x7ffffff0, entryAt(boot) + 1552))),
      'PAC_BAD_OFFSET',
      [`entry ${boot} (BOOT)`, 'end of the file'],
    );
    await expectImageError(
      openUnisocPac(damaged(r2, 'hi.pac', (b) => b.writeUInt32LE(3, entryAt(boot) + 1536))),
      'PAC_BAD_OFFSET',
      ['BOOT'],
    );
    await expectImageError(
      openUnisocPac(damaged(r1, 'size.pac', (b) => b.writeUInt32LE(0x10000000, entryAt(boot) + 1540))),
      'PAC_BAD_OFFSET',
      ['BOOT'],
    );
    await expectImageError(
      openUnisocPac(damaged(r2, 'inside-table.pac', (b) => b.writeUInt32LE(100, entryAt(boot) + 1552))),
      'PAC_BAD_OFFSET',
      ['BOOT', "entry table's end"],
    );
    const vbmeta = r2.entries.find((e) => e.fileId === 'VBMETA')!;
    const vbmetaIndex = r2.entries.indexOf(vbmeta);
    await expectImageError(
      openUnisocPac(
        damaged(r2, 'overlap.pac', (b) => b.writeUInt32LE(vbmeta.offsetBytes! - 100, entryAt(vbmetaIndex) + 1552)),
      ),
      'PAC_OVERLAP',
      ['VBMETA', 'overlaps entry', 'DTBO'],
    );
    await expectImageError(
      openUnisocPac(damaged(r2, 'dwsize.pac', (b) => b.writeUInt32LE(2000, entryAt(2)))),
      'PAC_BAD_ENTRY',
      ['entry 2 (NV_COMM)', 'dwSize is 2000'],
    );
  });

  test('an image larger than its <Partition size>, a broken config, duplicate partitions', async () => {
    const config = r2.entries.find((e) => e.fileFlag === 2)!;
    const shrink = (xml: Buffer): Buffer =>
      Buffer.from(
        xml
          .toString('utf8')
          .replace('<Partition id="super" size="1"/>', '<Partition id="super" size="0"/>')
          .padEnd(xml.length, ' '),
      );
    const tooBig = damaged(r2, 'too-big.pac', (b) =>
      shrink(b.subarray(config.offsetBytes!, config.offsetBytes! + config.data.length)).copy(b, config.offsetBytes!),
    );
    await expectImageError(openUnisocPac(tooBig), 'RELEASE_TOO_BIG', [
      'entry Super (super)',
      'sparse image super.img expands to 458752 bytes',
      'than the 0 bytes',
    ]);
    const broken = damaged(r2, 'broken.pac', (b) => b.write('<BMAConfig', config.offsetBytes! + 40, 'utf8'));
    await expectImageError(openUnisocPac(broken), 'PAC_BAD_CONFIG', [`config entry ${PAC_PRODUCT}.xml`]);
    const dup = damaged(r2, 'dup.pac', (b) => {
      const at = b.indexOf('<Block id="vbmeta_a">', config.offsetBytes!);
      b.write('<Block id="boot_a">  ', at, 'utf8');
    });
    await expectImageError(openUnisocPac(dup), 'PAC_BAD_ENTRY', [
      'entry VBMETA (boot_a)',
      'partition boot_a is also filled by entry BOOT',
    ]);
  });

  test('readPac verifies before decoding entries (a bad table behind a bad wCRC2 reports the CRC)', async () => {
    const path = damaged(r2, 'crc-first.pac', (b) => b.writeUInt32LE(2000, entryAt(0)), false);
    await expectImageError(readPac(path), 'PAC_BAD_CRC', ['wCRC2']);
  });
});
