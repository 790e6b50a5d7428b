// Reads a MediaTek release: a scatter file (`MTxxxx_Android_scatter.txt`) and the image files
// beside it. Owns what the scatter fields mean and which partitions an update may touch; the text
// format is in scatter-format.ts, path safety and image probing in release-file.ts.
//
// Not upgradable (first matching rule gives the reason):
//   file_name NONE (no image) · is_download: false (SP Flash Tool never writes it) ·
//   is_upgradable: false · is_reserved: true (areas addressed from the end of the device, e.g.
//   flashinfo/otp) · operation_type INVISIBLE, PROTECTED (nvram, persist…), RESERVED or
//   BOOTLOADERS (preloader) · boot regions EMMC_BOOT_1/2 and UFS_LU0/LU1, which only the BootROM
//   download path writes.
// A/B scatter files list both slots; slot b usually has `file_name: NONE` and `is_download: false`
// (reported with no file, never as a missing one).

import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ImageError, ioError } from '../errors/ota-error.js';
import { readBoundedFile } from '../image/read-bounded-file.js';
import { checkNoOverlap, type PlacedEntry } from './layout-overlap.js';
import { checkImageFits, folderImageOpener, resolveReleaseFileOrMissing, type ReleaseFile } from './release-file.js';
import type { ReleasePartition, ReleaseSource } from './release-source.js';
import {
  MAX_SCATTER_BYTES,
  parseScatter,
  parseScatterBoolean,
  parseScatterNumber,
  type ScatterBlock,
} from './scatter-format.js';

/** One scatter partition block, typed. */
export interface ScatterPartition {
  readonly index: string;
  readonly name: string;
  /** file_name; undefined for NONE or empty. */
  readonly fileName: string | undefined;
  readonly isDownload: boolean;
  readonly isUpgradable: boolean;
  readonly isReserved: boolean;
  readonly type: string;
  readonly linearStartBytes: number;
  readonly physicalStartBytes: number;
  readonly sizeBytes: number;
  readonly region: string;
  readonly operationType: string;
}

const NOT_UPGRADABLE_OPERATIONS = new Set(['INVISIBLE', 'PROTECTED', 'RESERVED', 'BOOTLOADERS']);
const BOOT_REGION = /^(EMMC_BOOT_?[12]|UFS_LU[01])$/i;

/**
 * Opens a MediaTek release from its scatter file or the folder holding exactly one
 * `*_Android_scatter.txt`. Checks every block, resolves and probes every named file (never outside
 * the folder), and refuses overlaps and images larger than their partition (ImageError, exit 3).
 */
export async function openMediatekRelease(path: string): Promise<ReleaseSource> {
  const scatterPath = await findScatterFile(path);
  const root = dirname(scatterPath);
  const what = scatterPath;
  const bytes = await readBoundedFile(scatterPath, {
    maxBytes: MAX_SCATTER_BYTES,
    action: 'read scatter file',
    notFile: () => new ImageError('RELEASE_BAD_LAYOUT', `${what}: not a regular file (FIFO or device)`),
    tooLarge: (sizeBytes) =>
      new ImageError(
        'RELEASE_BAD_LAYOUT',
        `${what}: ${sizeBytes} bytes, over the ${MAX_SCATTER_BYTES}-byte limit for a scatter file`,
      ),
  });
  const text = bytes.toString('utf8');
  const scatter = parseScatter(text, what);
  const entries = scatter.partitions.map((b) => typedPartition(b, what));
  const rootReal = await realpath(root).catch((err: unknown) => {
    throw ioError('resolve release folder', root, err);
  });

  const seen = new Set<string>();
  const placed: PlacedEntry[] = [];
  const partitions: ReleasePartition[] = [];
  for (const e of entries) {
    const where = `${what}: ${e.name}`;
    if (seen.has(e.name))
      throw new ImageError('RELEASE_BAD_LAYOUT', `${where}: partition_name ${e.name} appears twice`);
    seen.add(e.name);
    const layoutSizeBytes = e.sizeBytes > 0 ? e.sizeBytes : undefined;
    let file: ReleaseFile | undefined;
    let unavailable: ImageError | undefined;
    if (e.fileName !== undefined) {
      const found = await resolveReleaseFileOrMissing(rootReal, e.fileName, where);
      if (found instanceof ImageError) unavailable = found;
      else {
        file = found;
        checkImageFits(where, e.fileName, file.imageSizeBytes, layoutSizeBytes, file.sparse);
      }
    }
    if (!e.isReserved)
      placed.push({ entry: where, area: e.region, startBytes: e.linearStartBytes, sizeBytes: e.sizeBytes });
    const reason = notUpgradableReason(e);
    partitions.push({
      name: e.name,
      layoutSizeBytes,
      fileName: e.fileName,
      upgradable: reason === undefined,
      ...(reason === undefined ? {} : { notUpgradableReason: reason }),
      placement: {
        kind: 'mediatek',
        region: e.region,
        addressBytes: e.linearStartBytes,
        physicalAddressBytes: e.physicalStartBytes,
        operationType: e.operationType,
      },
      ...(unavailable ? { unavailable } : {}),
      open: unavailable
        ? () => Promise.reject(unavailable)
        : folderImageOpener(where, file, e.fileName, layoutSizeBytes),
    });
  }
  checkNoOverlap(placed);
  const storage = scatter.info.get('storage')?.toLowerCase();
  const platform = scatter.info.get('platform');
  return {
    layout: 'mediatek-scatter',
    vendor: 'mediatek',
    path,
    ...(platform ? { platform } : {}),
    ...(storage === 'ufs' || storage === 'emmc' || storage === 'nand' ? { storage } : {}),
    partitions,
    close: async () => undefined,
  };
}

/** Why a scatter partition is left out of updates by default, or undefined when it is upgradable. */
export function notUpgradableReason(e: ScatterPartition): string | undefined {
  if (e.fileName === undefined) return 'no image in the release (file_name NONE)';
  if (!e.isDownload) return 'is_download: false';
  if (!e.isUpgradable) return 'is_upgradable: false';
  if (e.isReserved) return 'reserved area (is_reserved: true)';
  if (NOT_UPGRADABLE_OPERATIONS.has(e.operationType.toUpperCase())) return `operation_type ${e.operationType}`;
  if (BOOT_REGION.test(e.region)) return `boot region ${e.region}`;
  return undefined;
}

/** Types one block's fields, refusing missing or malformed values with the block's line. */
function typedPartition(b: ScatterBlock, what: string): ScatterPartition {
  const f = b.fields;
  const name = f.get('partition_name');
  const at = `${what} line ${b.line}`;
  if (!name)
    throw new ImageError(
      'RELEASE_BAD_LAYOUT',
      `${at}: partition block ${f.get('partition_index')} has no partition_name`,
    );
  const where = `${what}: ${name}`;
  const get = (key: string): string => {
    const v = f.get(key);
    if (v === undefined) throw new ImageError('RELEASE_BAD_LAYOUT', `${where}: missing ${key}`);
    return v;
  };
  const num = (key: string, fallback?: string): number => {
    const text = f.get(key) ?? fallback ?? get(key);
    const v = parseScatterNumber(text);
    if (v === undefined)
      throw new ImageError(
        'RELEASE_BAD_LAYOUT',
        `${where}: ${key} "${text}" is not a hex (0x…) or decimal number within 2^53`,
      );
    return v;
  };
  const bool = (key: string, fallback?: boolean): boolean => {
    const text = f.get(key);
    if (text === undefined && fallback !== undefined) return fallback;
    const v = parseScatterBoolean(text ?? get(key));
    if (v === undefined) throw new ImageError('RELEASE_BAD_LAYOUT', `${where}: ${key} "${text}" must be true or false`);
    return v;
  };
  const fileText = get('file_name');
  const linearStartBytes = num('linear_start_addr');
  const sizeBytes = num('partition_size');
  if (!Number.isSafeInteger(linearStartBytes + sizeBytes))
    throw new ImageError('RELEASE_BAD_LAYOUT', `${where}: linear_start_addr + partition_size is beyond 2^53`);
  return {
    index: get('partition_index'),
    name,
    fileName: fileText === '' || fileText.toUpperCase() === 'NONE' ? undefined : fileText,
    isDownload: bool('is_download'),
    isUpgradable: bool('is_upgradable', true),
    isReserved: bool('is_reserved', false),
    type: f.get('type') ?? '',
    linearStartBytes,
    physicalStartBytes: num('physical_start_addr', f.get('linear_start_addr')),
    sizeBytes,
    region: get('region'),
    operationType: get('operation_type'),
  };
}

/** The scatter file: `path` itself, or the one `*_Android_scatter.txt` in the folder `path`. */
async function findScatterFile(path: string): Promise<string> {
  const st = await stat(path).catch((err: unknown) => {
    throw ioError('open release', path, err);
  });
  if (!st.isDirectory()) return path; // (a FIFO or device is refused when read)
  const names = await readdir(path).catch((err: unknown) => {
    throw ioError('list release folder', path, err);
  });
  const found = names.filter((n) => /_Android_scatter\.txt$/i.test(n)).sort();
  if (found.length !== 1) {
    throw new ImageError(
      'RELEASE_BAD_LAYOUT',
      found.length === 0
        ? `${path}: no *_Android_scatter.txt file in the folder`
        : `${path}: ${found.length} scatter files (${found.join(', ')}); name the one to use`,
    );
  }
  return join(path, found[0]!);
}
