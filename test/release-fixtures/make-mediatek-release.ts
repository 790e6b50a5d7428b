// Generates a small MediaTek MT6789 UFS release: `MT6789_Android_scatter.txt` (config_version
// V2.1.0, as SP Flash Tool reads it) and the images beside it. The preloader sits in the UFS_LU0
// boot region (BOOTLOADERS); the user LU (UFS_LU2) holds pgpt, protected/invisible areas without
// files, lk/boot/vbmeta raw, super and userdata Android sparse, and reserved end-of-device areas.
// v1 → v2: boot and vbmeta get small edits, super GROWS (bigger partition_size, so userdata
// moves), preloader/lk/userdata unchanged.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KiB, MiB, editedImage, grownImage, partitionImage, sparseBytes, type GeneratedPartition, type GeneratedRelease,
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
  const preloader = partitionImage('mtk/preloader', 64 * KiB);
  const lk = partitionImage('mtk/lk', 128 * KiB);
  const bootV1 = partitionImage('mtk/boot', 192 * KiB);
  const vbmetaV1 = partitionImage('mtk/vbmeta', 8 * KiB);
  const superV1 = partitionImage('mtk/super', 512 * KiB, 0.45);
  const userdata = partitionImage('mtk/userdata', 256 * KiB, 0.9);
  const boot = version === 1 ? bootV1 : editedImage(bootV1, 'mtk/boot');
  const vbmeta = version === 1 ? vbmetaV1 : editedImage(vbmetaV1, 'mtk/vbmeta', 2);
  const superImage = version === 1 ? superV1 : grownImage(editedImage(superV1, 'mtk/super', 10, 280 * KiB), 'mtk/super', 768 * KiB, 96 * KiB);
  const superSize = version === 1 ? 640 * KiB : 1 * MiB;

  const images = new Map<string, { image: Buffer; sparse: boolean }>([
    ['preloader_k6789v1_64.bin', { image: preloader, sparse: false }],
    ['lk.img', { image: lk, sparse: false }],
    ['boot.img', { image: boot, sparse: false }],
    ['vbmeta.img', { image: vbmeta, sparse: false }],
    ['super.img', { image: superImage, sparse: true }],
    ['userdata.img', { image: userdata, sparse: true }],
  ]);
  const entries: ScatterEntry[] = [];
  const add = (name: string, fileName: string, sizeBytes: number, region: string, operationType: string, more: Partial<ScatterEntry> = {}): void => {
    const prev = [...entries].reverse().find((e) => e.region === region && !e.isReserved);
    const startBytes = more.startBytes ?? (prev ? prev.startBytes + prev.sizeBytes : 0);
    entries.push({
      name, fileName, isDownload: fileName !== 'NONE', type: 'NORMAL_ROM',
      startBytes, sizeBytes, region, isReserved: false, operationType, isUpgradable: operationType === 'UPDATE', ...more,
    });
  };
  add('preloader', 'preloader_k6789v1_64.bin', 4 * MiB, 'UFS_LU0', 'BOOTLOADERS', { type: 'SV5_BL_BIN', isUpgradable: true });
  add('preloader_backup', 'preloader_k6789v1_64.bin', 4 * MiB, 'UFS_LU1', 'BOOTLOADERS', { type: 'SV5_BL_BIN', isUpgradable: true });
  add('pgpt', 'NONE', 32 * KiB, 'UFS_LU2', 'INVISIBLE');
  add('proinfo', 'NONE', 3 * MiB, 'UFS_LU2', 'PROTECTED');
  add('nvram', 'NONE', 64 * MiB, 'UFS_LU2', 'BINREGION', { isDownload: false });
  add('lk_a', 'lk.img', 2 * MiB, 'UFS_LU2', 'UPDATE');
  add('boot_a', 'boot.img', 256 * KiB, 'UFS_LU2', 'UPDATE');
  add('vbmeta_a', 'vbmeta.img', 64 * KiB, 'UFS_LU2', 'UPDATE');
  add('super', 'super.img', superSize, 'UFS_LU2', 'UPDATE');
  add('userdata', 'userdata.img', 512 * KiB, 'UFS_LU2', 'UPDATE');
  add('otp', 'NONE', 43 * MiB, 'UFS_LU2', 'RESERVED', { startBytes: 0xffff0200, isReserved: true });
  add('flashinfo', 'NONE', 16 * MiB, 'UFS_LU2', 'RESERVED', { startBytes: 0xffff0080, isReserved: true });
  add('sgpt', 'NONE', 32 * KiB, 'UFS_LU2', 'RESERVED', { startBytes: 0xffff0000, isReserved: true });

  const scatterPath = join(dir, MTK_SCATTER_NAME);
  writeFileSync(scatterPath, scatterText(entries));
  for (const [name, { image, sparse }] of images) writeFileSync(join(dir, name), sparse ? await sparseBytes(image) : image);
  const partitions: GeneratedPartition[] = entries.map((e) => {
    const file = e.fileName === 'NONE' ? undefined : images.get(e.fileName);
    const upgradable = file !== undefined && e.operationType === 'UPDATE' && e.isDownload && !e.isReserved;
    return { name: e.name, fileName: file ? e.fileName : undefined, layoutSizeBytes: e.sizeBytes, upgradable, sparse: file?.sparse ?? false, image: file?.image };
  });
  return { path: dir, scatterPath, entries, partitions };
}

const RULE = '#'.repeat(108);

/** The scatter text for `entries`, field order and comments as MediaTek's tools write them. */
export function scatterText(entries: readonly ScatterEntry[]): string {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const out = [RULE, '#', '#  General Setting', '#', RULE,
    '- general: MTK_PLATFORM_CFG', '  info:', '    - config_version: V2.1.0', '      platform: MT6789', '      project: k6789v1_64',
    '      storage: UFS', '      boot_channel: NONE', '      block_size: 0x20000', RULE, '#', '#  Layout Setting', '#', RULE];
  entries.forEach((e, i) => {
    out.push(`- partition_index: SYS${i}`, `  partition_name: ${e.name}`, `  file_name: ${e.fileName}`, `  is_download: ${e.isDownload}`,
      `  type: ${e.type}`, `  linear_start_addr: ${hex(e.startBytes)}`, `  physical_start_addr: ${hex(e.startBytes)}`,
      `  partition_size: ${hex(e.sizeBytes)}`, `  region: ${e.region}`, '  storage: HW_STORAGE_UFS', `  boundary_check: true`,
      `  is_reserved: ${e.isReserved}`, `  operation_type: ${e.operationType}`, `  is_upgradable: ${e.isUpgradable}`,
      '  empty_boot_needed: false', '  combo_partsize_check: false', '  d_type: FALSE', '  reserve: 0x00', '');
  });
  return `${out.join('\n')}\n`;
}
