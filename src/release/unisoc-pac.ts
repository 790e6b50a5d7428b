// Reads a Unisoc/Spreadtrum release: one .pac file, read in place (never extracted). Order of
// trust: magic, version and header CRC (wCRC1) before any header field is used; the declared size
// against the file; the entry count against a limit before the table is read; the payload CRC
// (wCRC2, one streaming pass) before any entry is decoded; then each entry's data range. Byte
// layout: pac-format.ts; what the embedded BMAConfig says: pac-config.ts.
//
// Partitions are the entries carrying a file (nFileFlag 1), plus every partition the BMAConfig's
// <Partitions> lists that no entry fills (A/B PACs pack only slot a: boot_b, uboot_b… are listed
// but have no entry). Such a config-only partition has no file, is not upgradable (nothing to
// write, as for the other layouts' entries without an image), takes its size from the config and
// its placement's partitionId from the config's <Partition id>. Order: entries in PAC order, each
// `X_a` directly followed by a config-only `X_b`, then the other config-only partitions in config
// order. Operation-only entries and the config XML are not partitions. Not upgradable otherwise:
// download loaders (FDL1/FDL2), NV calibration, backed-up production data, entries not selected
// for download (nCheckFlag 0) — see pacNotUpgradableReason.

import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { ImageError, hexBytes } from '../errors/ota-error.js';
import type { BlockSource } from '../image/block-source.js';
import { openImageRange } from '../image/open-image-range.js';
import { SPARSE_FILE_HEADER_BYTES } from '../image/sparse-format.js';
import { parsePacConfig, pacNotUpgradableReason, type PacConfig } from './pac-config.js';
import {
  PAC_ENTRY_BYTES,
  PAC_HEADER_BYTES,
  PAC_HEADER_CRC_OFFSET,
  PAC_MAGIC,
  PAC_MAGIC_OFFSET,
  PAC_MAX_ENTRIES,
  PacFileFlag,
  PacVersion,
  crc16Arc,
  decodePacEntry,
  decodePacHeader,
  decodePacVersion,
  type PacEntry,
  type PacHeader,
} from './pac-format.js';
import { checkImageFits, fitsOrClosed, probeHeader } from './release-file.js';
import type { ReleasePartition, ReleaseSource } from './release-source.js';
import { decodeXmlBytes } from './xml-document.js';
import { openRegularFile } from '../image/open-read-only.js';
import { readFull } from '../image/read-full.js';

/** Largest embedded config XML read into memory. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Bytes per read in the wCRC2 pass. */
const CRC_PIECE_BYTES = 1024 * 1024;

/** A PAC as read: header, entries, config. Holds no payload data. */
export interface PacContents {
  readonly header: PacHeader;
  readonly entries: readonly PacEntry[];
  readonly config: PacConfig | undefined;
}

/**
 * Opens a .pac, verifies it (ImageError, exit 3, naming the failing field or entry) and lists the
 * partitions (entries that carry files, and config-only partitions; see above). Memory: the entry
 * table (≤ PAC_MAX_ENTRIES × 2580 bytes), the config XML (≤ 4 MiB) and a 1 MiB CRC buffer while
 * opening.
 */
export async function openUnisocPac(path: string): Promise<ReleaseSource> {
  const pac = await readPac(path);
  const what = path;
  const seenPerId = new Map<string, number>();
  const names = new Map<string, string>();
  const partitions: ReleasePartition[] = [];
  const { fh } = await openRegularFile(
    path,
    'open PAC',
    () => new ImageError('PAC_NOT_FILE', `${path} is not a regular file`),
  );
  try {
    for (const e of pac.entries) {
      if (e.fileFlag !== PacFileFlag.file || e.sizeBytes === 0) continue;
      const k = seenPerId.get(e.fileId) ?? 0;
      seenPerId.set(e.fileId, k + 1);
      const schemeFile = pac.config?.files.get(e.fileId)?.[k];
      const name = schemeFile?.partitionName ?? e.fileId;
      const where = `${what}: entry ${e.fileId}${name !== e.fileId ? ` (${name})` : ''}`;
      if (names.has(name))
        throw new ImageError('PAC_BAD_ENTRY', `${where}: partition ${name} is also filled by entry ${names.get(name)}`);
      names.set(name, e.fileId);
      const layoutSizeBytes = pac.config?.partitionSizes.get(name);
      const head = Buffer.alloc(Math.min(SPARSE_FILE_HEADER_BYTES, e.sizeBytes));
      await readPacBytes(fh, head, e.dataOffsetBytes, path);
      const probe = probeHeader(head, e.sizeBytes, where);
      const displayName = e.fileName || e.fileId;
      checkImageFits(where, displayName, probe.imageSizeBytes, layoutSizeBytes, probe.sparse);
      const reason = pacNotUpgradableReason(e.fileId, schemeFile, e.checkFlag);
      partitions.push({
        name,
        layoutSizeBytes,
        fileName: e.fileName || undefined,
        upgradable: reason === undefined,
        ...(reason === undefined ? {} : { notUpgradableReason: reason }),
        placement: { kind: 'unisoc', partitionId: e.fileId, addressBytes: e.addressCount > 0 ? e.addresses[0]! : 0 },
        open: () => openEntry(path, e, `${basename(path)}:${displayName}`, where, layoutSizeBytes),
      });
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
  return {
    layout: 'unisoc-pac',
    vendor: 'unisoc',
    path,
    platform: pac.header.productName,
    partitions: withConfigOnly(partitions, pac.config, what),
    close: async () => undefined,
  };
}

/** `fromEntries` with the config's partitions that no entry fills inserted (order: file comment). */
function withConfigOnly(
  fromEntries: readonly ReleasePartition[],
  config: PacConfig | undefined,
  what: string,
): ReleasePartition[] {
  if (!config) return [...fromEntries];
  const filled = new Set(fromEntries.map((p) => p.name));
  const configOnly = [...config.partitionSizes.keys()].filter((name) => !filled.has(name));
  const partition = (name: string): ReleasePartition => ({
    name,
    layoutSizeBytes: config.partitionSizes.get(name),
    fileName: undefined,
    upgradable: false,
    notUpgradableReason: 'no image in the PAC (listed in the config only)',
    placement: { kind: 'unisoc', partitionId: name, addressBytes: 0 },
    open: () =>
      Promise.reject(
        new ImageError(
          'RELEASE_NO_IMAGE',
          `${what}: partition ${name} is listed in the config but no entry carries its image`,
        ),
      ),
  });
  const out: ReleasePartition[] = [];
  const placed = new Set<string>();
  for (const p of fromEntries) {
    out.push(p);
    const sibling = p.name.endsWith('_a') ? `${p.name.slice(0, -2)}_b` : undefined;
    if (sibling !== undefined && configOnly.includes(sibling)) {
      out.push(partition(sibling));
      placed.add(sibling);
    }
  }
  for (const name of configOnly) if (!placed.has(name)) out.push(partition(name));
  return out;
}

async function openEntry(
  path: string,
  e: PacEntry,
  displayPath: string,
  where: string,
  layoutSizeBytes: number | undefined,
): Promise<BlockSource> {
  return fitsOrClosed(
    await openImageRange(path, e.dataOffsetBytes, e.sizeBytes, displayPath),
    where,
    displayPath,
    layoutSizeBytes,
  );
}

/** Reads and verifies a PAC's header, entry table and config, in the order of trust above. */
export async function readPac(path: string): Promise<PacContents> {
  const what = path;
  const { fh, sizeBytes: fileSizeBytes } = await openRegularFile(
    path,
    'open PAC',
    () => new ImageError('PAC_NOT_FILE', `${path} is not a regular file`),
  );
  try {
    if (fileSizeBytes < PAC_HEADER_BYTES)
      throw new ImageError(
        'PAC_TRUNCATED',
        `${what}: ${fileSizeBytes} bytes, shorter than the ${PAC_HEADER_BYTES}-byte PAC header`,
      );
    const raw = Buffer.alloc(PAC_HEADER_BYTES);
    await readPacBytes(fh, raw, 0, path);
    const magic = raw.subarray(PAC_MAGIC_OFFSET, PAC_MAGIC_OFFSET + 4);
    if (magic.readUInt32LE(0) !== PAC_MAGIC)
      throw new ImageError(
        'PAC_BAD_MAGIC',
        `${what}: bad magic at offset ${PAC_MAGIC_OFFSET}: expected fa ff fa ff, got ${hexBytes(magic)}`,
      );
    const version = decodePacVersion(raw);
    if (version !== PacVersion.r1 && version !== PacVersion.r2)
      throw new ImageError(
        'PAC_BAD_VERSION',
        `${what}: version ${JSON.stringify(version.slice(0, 24))} at offset 0 is not ${PacVersion.r1} or ${PacVersion.r2}`,
      );
    const header = decodePacHeader(raw);
    const headerCrc = crc16Arc(raw.subarray(0, PAC_HEADER_CRC_OFFSET));
    if (headerCrc !== header.headerCrc)
      throw new ImageError(
        'PAC_BAD_CRC',
        `${what}: header CRC (wCRC1 at offset ${PAC_HEADER_CRC_OFFSET}) expected ${hex16(header.headerCrc)}, got ${hex16(headerCrc)} over the header's first ${PAC_HEADER_CRC_OFFSET} bytes`,
      );
    if (header.totalSizeBytes !== fileSizeBytes) {
      throw new ImageError(
        header.totalSizeBytes > fileSizeBytes ? 'PAC_TRUNCATED' : 'PAC_BAD_SIZE',
        `${what}: the header declares ${header.totalSizeBytes} bytes, the file has ${fileSizeBytes}`,
      );
    }
    if (header.entryCount > PAC_MAX_ENTRIES)
      throw new ImageError(
        'PAC_TOO_MANY_ENTRIES',
        `${what}: nFileCount ${header.entryCount} at offset 1076 is over the limit of ${PAC_MAX_ENTRIES} entries`,
      );
    const tableEnd = header.entryListOffsetBytes + header.entryCount * PAC_ENTRY_BYTES;
    if (header.entryListOffsetBytes < PAC_HEADER_BYTES || tableEnd > fileSizeBytes) {
      throw new ImageError(
        'PAC_BAD_OFFSET',
        `${what}: entry table (dwFileOffset ${header.entryListOffsetBytes}, ${header.entryCount} × ${PAC_ENTRY_BYTES} bytes) is not between the header's end (${PAC_HEADER_BYTES}) and the end of the file (${fileSizeBytes})`,
      );
    }
    const payloadCrc = await crcFrom(fh, PAC_HEADER_BYTES, fileSizeBytes, path);
    if (payloadCrc !== header.payloadCrc)
      throw new ImageError(
        'PAC_BAD_CRC',
        `${what}: payload CRC (wCRC2 at offset 2122) expected ${hex16(header.payloadCrc)}, got ${hex16(payloadCrc)} over bytes ${PAC_HEADER_BYTES}..${fileSizeBytes}`,
      );
    const table = Buffer.alloc(header.entryCount * PAC_ENTRY_BYTES);
    await readPacBytes(fh, table, header.entryListOffsetBytes, path);
    const entries = Array.from({ length: header.entryCount }, (_, i) =>
      decodePacEntry(table.subarray(i * PAC_ENTRY_BYTES, (i + 1) * PAC_ENTRY_BYTES), version),
    );
    checkEntryRanges(entries, tableEnd, fileSizeBytes, what);
    const config = await readConfig(fh, header, entries, path);
    return { header, entries, config };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Each entry's data inside the file and after the table; no two entries' data partly overlap. */
function checkEntryRanges(entries: readonly PacEntry[], tableEnd: number, fileSizeBytes: number, what: string): void {
  entries.forEach((e, i) => {
    const where = `${what}: entry ${i} (${e.fileId || e.fileName || 'no id'})`;
    if (e.entryBytes !== PAC_ENTRY_BYTES)
      throw new ImageError('PAC_BAD_ENTRY', `${where}: dwSize is ${e.entryBytes}, expected ${PAC_ENTRY_BYTES}`);
    if (e.sizeBytes === 0) return;
    const end = e.dataOffsetBytes + e.sizeBytes;
    if (!Number.isSafeInteger(end) || e.dataOffsetBytes < tableEnd || end > fileSizeBytes) {
      throw new ImageError(
        'PAC_BAD_OFFSET',
        `${where}: data at bytes ${e.dataOffsetBytes}..${end} is not between the entry table's end (${tableEnd}) and the end of the file (${fileSizeBytes})`,
      );
    }
  });
  const ranges = entries
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.sizeBytes > 0)
    .sort((a, b) => a.e.dataOffsetBytes - b.e.dataOffsetBytes || a.e.sizeBytes - b.e.sizeBytes);
  for (let k = 1; k < ranges.length; k++) {
    const a = ranges[k - 1]!;
    const b = ranges[k]!;
    const same = a.e.dataOffsetBytes === b.e.dataOffsetBytes && a.e.sizeBytes === b.e.sizeBytes;
    if (!same && b.e.dataOffsetBytes < a.e.dataOffsetBytes + a.e.sizeBytes) {
      throw new ImageError(
        'PAC_OVERLAP',
        `${what}: entry ${b.i} (${b.e.fileId}) data at bytes ${b.e.dataOffsetBytes}..${b.e.dataOffsetBytes + b.e.sizeBytes} overlaps entry ${a.i} (${a.e.fileId}) at ${a.e.dataOffsetBytes}..${a.e.dataOffsetBytes + a.e.sizeBytes}`,
      );
    }
  }
}

/** The BMAConfig: the config entry named `<product>.xml`, else the first config entry; none is fine. */
async function readConfig(
  fh: FileHandle,
  header: PacHeader,
  entries: readonly PacEntry[],
  path: string,
): Promise<PacConfig | undefined> {
  const configs = entries.filter((e) => e.fileFlag === PacFileFlag.config && e.sizeBytes > 0);
  const entry =
    configs.find((e) => e.fileName.toLowerCase() === `${header.productName.toLowerCase()}.xml`) ?? configs[0];
  if (!entry) return undefined;
  const what = `${path}: config entry ${entry.fileName || entry.fileId}`;
  if (entry.sizeBytes > MAX_CONFIG_BYTES)
    throw new ImageError(
      'PAC_BAD_CONFIG',
      `${what}: ${entry.sizeBytes} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`,
    );
  const bytes = Buffer.alloc(entry.sizeBytes);
  await readPacBytes(fh, bytes, entry.dataOffsetBytes, path);
  return parsePacConfig(decodeXmlBytes(bytes), what, header.productName);
}

async function crcFrom(fh: FileHandle, startBytes: number, endBytes: number, path: string): Promise<number> {
  const piece = Buffer.alloc(Math.min(CRC_PIECE_BYTES, Math.max(1, endBytes - startBytes)));
  let crc = 0;
  for (let at = startBytes; at < endBytes;) {
    const n = Math.min(piece.length, endBytes - at);
    await readPacBytes(fh, piece.subarray(0, n), at, path);
    crc = crc16Arc(piece.subarray(0, n), crc);
    at += n;
  }
  return crc;
}

async function readPacBytes(fh: FileHandle, into: Buffer, position: number, path: string): Promise<void> {
  await readFull(fh, into, position, {
    action: 'read PAC',
    path,
    onShort: (endedAtBytes) =>
      new ImageError(
        'PAC_TRUNCATED',
        `${path}: file ended at byte ${endedAtBytes} while reading ${into.length} bytes at ${position}; was it changed while being read?`,
      ),
  });
}

function hex16(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}
