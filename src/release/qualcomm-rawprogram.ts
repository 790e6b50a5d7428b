// Reads a Qualcomm release: the folder of images that QFIL/fh_loader flash, described by
// rawprogram<N>.xml files (one per UFS LUN, or one for eMMC), each a list of <program> entries.
// Owns what the <program> attributes mean and which entries an update may touch; path safety and
// image probing are in release-file.ts, the overlap rule in layout-overlap.ts. patch*.xml files
// (GPT CRC fix-ups applied at flash time) are not read: they change no partition's content.
//
// Not upgradable: GPT entries (PrimaryGPT/BackupGPT, gpt_main*/gpt_backup* files), entries with
// no file, and entries positioned by an expression (`NUM_DISK_SECTORS-5.`). A/B layouts list both
// slots; slot b's entry often has filename="" (reported with no file, never as a missing one) or
// names slot a's file (read once). Several upgradable
// entries with one label (a sparse image split across <program> entries by the vendor's tool)
// are refused: each partition must be one image file.

import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { ImageError, ioError } from '../errors/ota-error.js';
import { readBoundedFile } from '../image/read-bounded-file.js';
import { checkNoOverlap, type PlacedEntry } from './layout-overlap.js';
import { checkImageFits, folderImageOpener, resolveReleaseFileOrMissing, type ReleaseFile } from './release-file.js';
import type { ReleasePartition, ReleaseSource } from './release-source.js';
import { MAX_LAYOUT_XML_BYTES, parseXmlDocument, xmlAttribute, xmlChildren } from './xml-document.js';

/** One <program> entry as written, numbers evaluated. */
export interface RawProgramEntry {
  /** The XML file it came from (base name). */
  readonly xmlFile: string;
  readonly label: string;
  /** filename attribute; undefined when empty or absent. */
  readonly fileName: string | undefined;
  readonly sectorSizeBytes: number;
  readonly lun: number;
  readonly startSector: number | undefined;
  readonly startSectorText: string;
  readonly sectorCount: number;
  /** sparse="true". */
  readonly sparse: boolean;
}

const GPT_LABELS = new Set(['PrimaryGPT', 'BackupGPT']);
const GPT_FILE = /^gpt_(main|backup|both)\d*\.bin$/i;

/**
 * Opens a Qualcomm release from its folder (every rawprogram<N>.xml in it, in numeric order;
 * other rawprogram*.xml variants only when there is none) or from one rawprogram XML file.
 * Checks every entry, resolves and probes every named file (never outside the folder), and
 * refuses overlaps and images larger than their partition, all with ImageError (exit 3).
 */
export async function openQualcommRelease(path: string): Promise<ReleaseSource> {
  const { root, xmlPaths } = await findRawprogramFiles(path);
  const rootReal = await realpath(root).catch((err: unknown) => {
    throw ioError('resolve release folder', root, err);
  });
  const entries: RawProgramEntry[] = [];
  for (const xmlPath of xmlPaths) entries.push(...(await readRawprogramFile(xmlPath)));
  if (entries.length === 0)
    throw new ImageError('RELEASE_BAD_LAYOUT', `${path}: the rawprogram files hold no <program> entries`);

  const names = partitionNames(entries);
  const files = new Map<string, Promise<ReleaseFile | ImageError>>();
  const placed: PlacedEntry[] = [];
  const partitions: ReleasePartition[] = [];
  for (const [i, e] of entries.entries()) {
    const name = names[i]!;
    const where = `${e.xmlFile}: ${name}`;
    const layoutSizeBytes = e.sectorCount > 0 ? e.sectorCount * e.sectorSizeBytes : undefined;
    let file: ReleaseFile | undefined;
    let unavailable: ImageError | undefined;
    const found =
      e.fileName === undefined
        ? undefined
        : await (files.get(e.fileName) ??
            files.set(e.fileName, resolveReleaseFileOrMissing(rootReal, e.fileName, where)).get(e.fileName)!);
    if (found instanceof ImageError) unavailable = found;
    else if (found !== undefined && e.fileName !== undefined) {
      const fileName = e.fileName;
      file = found;
      if (file.sparse !== e.sparse) {
        throw new ImageError(
          'RELEASE_BAD_LAYOUT',
          `${where}: the entry says sparse="${e.sparse}" but ${fileName} is ${file.sparse ? 'an Android sparse image' : 'not an Android sparse image'}`,
        );
      }
      checkImageFits(where, fileName, file.imageSizeBytes, layoutSizeBytes, file.sparse);
    }
    if (e.startSector !== undefined)
      placed.push({
        entry: where,
        area: `LUN ${e.lun}`,
        startBytes: e.startSector * e.sectorSizeBytes,
        sizeBytes: e.sectorCount * e.sectorSizeBytes,
      });
    const reason = notUpgradableReason(e);
    partitions.push({
      name,
      layoutSizeBytes,
      fileName: e.fileName,
      upgradable: reason === undefined,
      ...(reason === undefined ? {} : { notUpgradableReason: reason }),
      placement: {
        kind: 'qualcomm',
        lun: e.lun,
        startSector: e.startSector,
        startSectorText: e.startSectorText,
        sectorSizeBytes: e.sectorSizeBytes,
        sectorCount: e.sectorCount,
      },
      ...(unavailable ? { unavailable } : {}),
      open: unavailable
        ? () => Promise.reject(unavailable)
        : folderImageOpener(where, file, e.fileName, layoutSizeBytes),
    });
  }
  checkNoOverlap(placed);
  const sizes = new Set(entries.map((e) => e.sectorSizeBytes));
  const storage = sizes.size === 1 ? (sizes.has(4096) ? 'ufs' : sizes.has(512) ? 'emmc' : undefined) : undefined;
  return {
    layout: 'qualcomm-rawprogram',
    vendor: 'qualcomm',
    path,
    ...(storage ? { storage } : {}),
    partitions,
    close: async () => undefined,
  };
}

/** Why an entry is left out of updates by default, or undefined when it is upgradable. */
export function notUpgradableReason(e: RawProgramEntry): string | undefined {
  if (GPT_LABELS.has(e.label) || (e.fileName !== undefined && GPT_FILE.test(basename(e.fileName.replace(/\\/g, '/')))))
    return 'GPT partition table';
  if (e.fileName === undefined) return 'no image in the release';
  if (e.startSector === undefined) return `positioned by an expression (start_sector="${e.startSectorText}")`;
  return undefined;
}

/**
 * Partition names: the label, unique in almost every layout. A label repeated only by entries
 * that are not upgradable (PrimaryGPT in every LUN's file) gets `.lun<N>` (and `.<k>` if still
 * repeated): a name `--partitions` can give and a package can carry (A-Z a-z 0-9 _ . -). A
 * repeated label with an upgradable entry is refused.
 */
function partitionNames(entries: readonly RawProgramEntry[]): string[] {
  const byLabel = new Map<string, number[]>();
  entries.forEach((e, i) => byLabel.set(e.label, [...(byLabel.get(e.label) ?? []), i]));
  const names = entries.map((e) => e.label);
  for (const [label, indexes] of byLabel) {
    if (indexes.length === 1) continue;
    const where = [...new Set(indexes.map((i) => entries[i]!.xmlFile))].join(', ');
    if (indexes.some((i) => notUpgradableReason(entries[i]!) === undefined)) {
      throw new ImageError(
        'RELEASE_DUPLICATE_LABEL',
        `label ${label} appears in ${indexes.length} <program> entries (${where}); an image split over several entries is not supported: give each partition one image file`,
      );
    }
    const seen = new Map<string, number>();
    for (const i of indexes) {
      const base = `${label}.lun${entries[i]!.lun}`;
      const k = (seen.get(base) ?? 0) + 1;
      seen.set(base, k);
      names[i] = k === 1 ? base : `${base}.${k}`;
    }
  }
  const all = new Set<string>();
  for (const [i, n] of names.entries()) {
    if (all.has(n))
      throw new ImageError('RELEASE_DUPLICATE_LABEL', `${entries[i]!.xmlFile}: partition name ${n} is used twice`);
    all.add(n);
  }
  return names;
}

/** The release folder and the rawprogram files to read, in order. */
async function findRawprogramFiles(path: string): Promise<{ root: string; xmlPaths: string[] }> {
  const st = await stat(path).catch((err: unknown) => {
    throw ioError('open release', path, err);
  });
  if (!st.isDirectory()) return { root: dirname(path), xmlPaths: [path] }; // (a FIFO or device is refused when read)
  const names = await readdir(path).catch((err: unknown) => {
    throw ioError('list release folder', path, err);
  });
  const numbered = names.filter((n) => /^rawprogram\d+\.xml$/i.test(n));
  const chosen = numbered.length > 0 ? numbered : names.filter((n) => /^rawprogram.*\.xml$/i.test(n));
  if (chosen.length === 0) throw new ImageError('RELEASE_BAD_LAYOUT', `${path}: no rawprogram*.xml file in the folder`);
  const number = (n: string): number => Number(/\d+/.exec(n)?.[0] ?? -1);
  chosen.sort((a, b) => number(a) - number(b) || (a < b ? -1 : a > b ? 1 : 0));
  return { root: path, xmlPaths: chosen.map((n) => `${path}/${n}`) };
}

/** Reads one rawprogram XML file into entries (other elements such as <read>/<erase> are ignored). */
export async function readRawprogramFile(xmlPath: string): Promise<RawProgramEntry[]> {
  const xmlFile = xmlPath;
  const bytes = await readBoundedFile(xmlPath, {
    maxBytes: MAX_LAYOUT_XML_BYTES,
    action: 'read layout file',
    notFile: () => new ImageError('RELEASE_BAD_LAYOUT', `${xmlFile}: not a regular file (FIFO or device)`),
    tooLarge: (sizeBytes) =>
      new ImageError(
        'RELEASE_BAD_LAYOUT',
        `${xmlFile}: ${sizeBytes} bytes, over the ${MAX_LAYOUT_XML_BYTES}-byte limit for a layout file`,
      ),
  });
  const text = bytes.toString('utf8');
  const doc = parseXmlDocument(text, xmlFile);
  const data = xmlChildren(doc, 'data');
  if (data.length !== 1)
    throw new ImageError('RELEASE_BAD_LAYOUT', `${xmlFile}: expected one <data> root element, found ${data.length}`);
  return xmlChildren(data[0], 'program').map((p, index) =>
    parseProgram(p, `${xmlFile}: <program> #${index + 1}`, xmlFile),
  );
}

function parseProgram(p: Parameters<typeof xmlAttribute>[0], at: string, xmlFile: string): RawProgramEntry {
  const label = xmlAttribute(p, 'label');
  if (!label) throw new ImageError('RELEASE_BAD_LAYOUT', `${at}: missing label attribute`);
  const where = `${xmlFile}: ${label}`;
  const required = (attr: string): string => {
    const v = xmlAttribute(p, attr);
    if (v === undefined) throw new ImageError('RELEASE_BAD_LAYOUT', `${where}: missing ${attr} attribute`);
    return v.trim();
  };
  const sectorSizeBytes = parseLayoutNumber(required('SECTOR_SIZE_IN_BYTES'), 'SECTOR_SIZE_IN_BYTES', where);
  if (sectorSizeBytes < 512 || sectorSizeBytes > 65536 || (sectorSizeBytes & (sectorSizeBytes - 1)) !== 0) {
    throw new ImageError(
      'RELEASE_BAD_LAYOUT',
      `${where}: SECTOR_SIZE_IN_BYTES ${sectorSizeBytes} is not a power of two from 512 to 65536 (4096 on UFS, 512 on eMMC)`,
    );
  }
  const lun = parseLayoutNumber(required('physical_partition_number'), 'physical_partition_number', where);
  const sectorCount = parseLayoutNumber(required('num_partition_sectors'), 'num_partition_sectors', where);
  const startSectorText = required('start_sector');
  let startSector: number | undefined;
  if (/^\d+\.?$/.test(startSectorText)) startSector = parseLayoutNumber(startSectorText, 'start_sector', where);
  else if (!/^[A-Za-z_][A-Za-z0-9_]*\s*([-+*/]\s*\d+\.?\s*)*$/.test(startSectorText)) {
    throw new ImageError(
      'RELEASE_BAD_LAYOUT',
      `${where}: start_sector "${startSectorText}" is neither a number nor an expression like NUM_DISK_SECTORS-5.`,
    );
  }
  if (!Number.isSafeInteger(((startSector ?? 0) + sectorCount) * sectorSizeBytes)) {
    throw new ImageError(
      'RELEASE_BAD_LAYOUT',
      `${where}: start_sector ${startSector ?? 0} + num_partition_sectors ${sectorCount} × ${sectorSizeBytes}-byte sectors is beyond 2^53 bytes`,
    );
  }
  const fileName = xmlAttribute(p, 'filename')?.trim() || undefined;
  const sparseText = (xmlAttribute(p, 'sparse') ?? 'false').trim().toLowerCase();
  if (sparseText !== 'true' && sparseText !== 'false')
    throw new ImageError('RELEASE_BAD_LAYOUT', `${where}: sparse="${sparseText}" must be "true" or "false"`);
  return {
    xmlFile,
    label,
    fileName,
    sectorSizeBytes,
    lun,
    startSector,
    startSectorText,
    sectorCount,
    sparse: sparseText === 'true',
  };
}

/** A decimal layout number, optionally with the trailing '.' rawprogram files use; safe integers only. */
function parseLayoutNumber(text: string, attr: string, where: string): number {
  const m = /^(\d+)\.?$/.exec(text);
  const value = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(value))
    throw new ImageError('RELEASE_BAD_LAYOUT', `${where}: ${attr}="${text}" is not a whole number`);
  return value;
}
