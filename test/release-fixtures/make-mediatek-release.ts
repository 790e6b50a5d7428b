// Generates a small MediaTek MT6789 UFS A/B release: `MT6789_Android_scatter.txt` (config_version
// V2.1.0, as SP Flash Tool reads it) and the images beside it. The preloader sits in the UFS_LU0/LU1
// boot regions (BOOTLOADERS); the user LU (UFS_LU2) holds pgpt, protected/binregion device data
// without files (proinfo, nvram, protect1/2, seccfg, metadata), persist (sparse, a file), logo
// (raw, not slotted), both slots of lk/boot/dtbo/vbmeta — slot b with `file_name: NONE` and
// `is_download: false`, as real A/B scatter files have them —, super and userdata Android sparse,
// and reserved end-of-device areas. v1 → v2: boot, dtbo, vbmeta, logo and userdata get small
// edits, super GROWS (bigger partition_size, so userdata moves), preloader/lk/persist unchanged.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KiB,
  MiB,
  editedImage,
  grownImage,
  partitionImage,
  sparseBytes,
  type GeneratedPartition,
  type GeneratedRelease,
} from './partition-images.js';

/** One scatter partition block to write. */
export interface ScatterEntry {
  readonly name: string;
  readonly fileName: string;
  readonly isDownload: boolean;
  readonly type: string;
  readonly startBytes: number;
  readonly sizeBytes: number;
  readonly region: string;
  readonly isReserved: boolean;
  readonly operationType: string;
  readonly isUpgradable: boolean;
}

/** A generated MediaTek release plus the scatter entries as written. */
export interface MediatekRelease extends GeneratedRelease {
  readonly scatterPath: string;
  readonly entries: readonly ScatterEntry[];
}

export const MTK_SCATTER_NAME = 'MT6789_Android_scatter.txt';

/** Writes release `version` (1 or 2) into `dir` (created) and describes it. */
export async function makeMediatekRelease(dir: string, version: 1 | 2): Promise<MediatekRelease> {
  mkdirSync(dir, { recursive: true });
  const v2 = version === 2;
  const preloader = partitionImage('mtk/preloader', 64 * KiB);
  const lk = partitionImage('mtk/lk', 128 * KiB);
  const persist = partitionImage('mtk/persist', 64 * KiB, 0.75);
  const logoV1 = partitionImage('mtk/logo', 64 * KiB, 0.25);
  const bootV1 = partitionImage('mtk/boot', 192 * KiB);
  const dtboV1 = partitionImage('mtk/dtbo', 32 * KiB);
  const vbmetaV1 = partitionImage('mtk/vbmeta', 8 * KiB);
  const superV1 = partitionImage('mtk/super', 448 * KiB, 0.45);
  const userdataV1 = partitionImage('mtk/userdata', 256 * KiB, 0.9);
  const logo = v2 ? editedImage(logoV1, 'mtk/logo', 4, 32 * KiB) : logoV1;
  const boot = v2 ? editedImage(bootV1, 'mtk/boot') : bootV1;
  const dtbo = v2 ? editedImage(dtboV1, 'mtk/dtbo', 3) : dtboV1;
  const vbmeta = v2 ? editedImage(vbmetaV1, 'mtk/vbmeta', 2) : vbmetaV1;
  const superImage = v2
    ? grownImage(editedImage(superV1, 'mtk/super', 10, 240 * KiB), 'mtk/super', 704 * KiB, 80 * KiB)
    : superV1;
  const userdata = v2 ? editedImage(userdataV1, 'mtk/userdata', 3, 24 * KiB) : userdataV1;
  const superSize = v2 ? 1 * MiB : 640 * KiB;

  const images = new Map<string, { image: Buffer; sparse: boolean }>([
    ['preloader_k6789v1_64.bin', { image: preloader, sparse: false }],
    ['persist.img', { image: persist, sparse: true }],
    ['logo.bin', { image: logo, sparse: false }],
    ['lk.img', { image: lk, sparse: false }],
    ['boot.img', { image: boot, sparse: false }],
    ['dtbo.img', { image: dtbo, sparse: false }],
    ['vbmeta.img', { image: vbmeta, sparse: false }],
    ['super.img', { image: superImage, sparse: true }],
    ['userdata.img', { image: userdata, sparse: true }],
  ]);
  const entries: ScatterEntry[] = [];
  const add = (
    name: string,
    fileName: string,
    sizeBytes: number,
    region: string,
    operationType: string,
    more: Partial<ScatterEntry> = {},
  ): void => {
    const prev = [...entries].reverse().find((e) => e.region === region && !e.isReserved);
    const startBytes = more.startBytes ?? (prev ? prev.startBytes + prev.sizeBytes : 0);
    entries.push({
      name,
      fileName,
      isDownload: fileName !== 'NONE',
      type: 'NORMAL_ROM',
      startBytes,
      sizeBytes,
      region,
      isReserved: false,
      operationType,
      isUpgradable: operationType === 'UPDATE',
      ...more,
    });
  };
  /** Both slots: `<name>_a` with the image, `<name>_b` without (file_name NONE, is_download false). */
  const slots = (name: string, fileName: string, sizeBytes: number): void => {
    add(`${name}_a`, fileName, sizeBytes, 'UFS_LU2', 'UPDATE');
    add(`${name}_b`, 'NONE', sizeBytes, 'UFS_LU2', 'UPDATE', { isDownload: false });
  };
  add('preloader', 'preloader_k6789v1_64.bin', 4 * MiB, 'UFS_LU0', 'BOOTLOADERS', {
    type: 'SV5_BL_BIN',
    isUpgradable: true,
  });
  add('preloader_backup', 'preloader_k6789v1_64.bin', 4 * MiB, 'UFS_LU1', 'BOOTLOADERS', {
    type: 'SV5_BL_BIN',
    isUpgradable: true,
  });
  add('pgpt', 'NONE', 32 * KiB, 'UFS_LU2', 'INVISIBLE');
  add('proinfo', 'NONE', 3 * MiB, 'UFS_LU2', 'PROTECTED');
  add('nvram', 'NONE', 64 * MiB, 'UFS_LU2', 'BINREGION', { isDownload: false });
  add('protect1', 'NONE', 8 * MiB, 'UFS_LU2', 'PROTECTED');
  add('protect2', 'NONE', 8 * MiB, 'UFS_LU2', 'PROTECTED');
  add('persist', 'persist.img', 48 * MiB, 'UFS_LU2', 'UPDATE', { type: 'EXT4_IMG' });
  add('seccfg', 'NONE', 8 * MiB, 'UFS_LU2', 'INVISIBLE');
  add('metadata', 'NONE', 32 * MiB, 'UFS_LU2', 'UPDATE', { isDownload: false });
  add('logo', 'logo.bin', 8 * MiB, 'UFS_LU2', 'UPDATE');
  slots('lk', 'lk.img', 2 * MiB);
  slots('boot', 'boot.img', 256 * KiB);
  slots('dtbo', 'dtbo.img', 64 * KiB);
  slots('vbmeta', 'vbmeta.img', 64 * KiB);
  add('super', 'super.img', superSize, 'UFS_LU2', 'UPDATE', { type: 'EXT4_IMG' });
  add('userdata', 'userdata.img', 512 * KiB, 'UFS_LU2', 'UPDATE', { type: 'EXT4_IMG' });
  add('otp', 'NONE', 43 * MiB, 'UFS_LU2', 'RESERVED', { startBytes: 0xffff0200, isReserved: true });
  add('flashinfo', 'NONE', 16 * MiB, 'UFS_LU2', 'RESERVED', { startBytes: 0xffff0080, isReserved: true });
  add('sgpt', 'NONE', 32 * KiB, 'UFS_LU2', 'RESERVED', { startBytes: 0xffff0000, isReserved: true });

  const scatterPath = join(dir, MTK_SCATTER_NAME);
  writeFileSync(scatterPath, scatterText(entries));
  for (const [name, { image, sparse }] of images)
    writeFileSync(join(dir, name), sparse ? await sparseBytes(image) : image);
  const partitions: GeneratedPartition[] = entries.map((e) => {
    const file = e.fileName === 'NONE' ? undefined : images.get(e.fileName);
    const upgradable = file !== undefined && e.operationType === 'UPDATE' && e.isDownload && !e.isReserved;
    return {
      name: e.name,
      fileName: file ? e.fileName : undefined,
      layoutSizeBytes: e.sizeBytes,
      upgradable,
      sparse: file?.sparse ?? false,
      image: file?.image,
    };
  });
  return { path: dir, scatterPath, entries, partitions };
}

const RULE = '#'.repeat(108);

/** The scatter text for `entries`, field order and comments as MediaTek's tools write them. */
export function scatterText(entries: readonly ScatterEntry[]): string {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const out = [
    RULE,
    '#',
    '#  General Setting',
    '#',
    RULE,
    '- general: MTK_PLATFORM_CFG',
    '  info:',
    '    - config_version: V2.1.0',
    '      platform: MT6789',
    '      project: k6789v1_64',
    '      storage: UFS',
    '      boot_channel: NONE',
    '      block_size: 0x20000',
    RULE,
    '#',
    '#  Layout Setting',
    '#',
    RULE,
  ];
  entries.forEach((e, i) => {
    out.push(
      `- partition_index: SYS${i}`,
      `  partition_name: ${e.name}`,
      `  file_name: ${e.fileName}`,
      `  is_download: ${e.isDownload}`,
      `  type: ${e.type}`,
      `  linear_start_addr: ${hex(e.startBytes)}`,
      `  physical_start_addr: ${hex(e.startBytes)}`,
      `  partition_size: ${hex(e.sizeBytes)}`,
      `  region: ${e.region}`,
      '  storage: HW_STORAGE_UFS',
      `  boundary_check: true`,
      `  is_reserved: ${e.isReserved}`,
      `  operation_type: ${e.operationType}`,
      `  is_upgradable: ${e.isUpgradable}`,
      '  empty_boot_needed: false',
      '  combo_partsize_check: false',
      '  d_type: FALSE',
      '  reserve: 0x00',
      '',
    );
  });
  return `${out.join('\n')}\n`;
}
