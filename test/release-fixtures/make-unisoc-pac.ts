// Generates a small Unisoc UMS9230 A/B .pac in either layout (BP_R1.0.0 or BP_R2.0.1), written
// field by field at the offsets of the vendor's BIN_PACKET_HEADER_T/FILE_T (independently of
// src/release/pac-format.ts, so the reader is checked against a second rendering of the format).
// Entries: FDL/FDL2 loaders, NV calibration, backed-up ProdNV, logo (not slotted), slot a of
// u-boot/boot/dtbo/vbmeta raw, super and userdata Android sparse, an operation-only erase of
// metadata, and the BMAConfig XML (nFileFlag 2). As in real A/B PACs, the config's <Partitions>
// lists both slots (uboot_b, boot_b, dtbo_b, vbmeta_b) and device areas (miscdata, metadata) that
// no entry fills. v1 → v2: boot, dtbo, vbmeta, logo and userdata get small edits, super GROWS (its
// <Partition size> in MiB doubles and the image expands past the old size), the rest unchanged.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KiB,
  MiB,
  editedImage,
  grownImage,
  partitionImage,
  sparseBytes,
  utf16Field,
  type GeneratedPartition,
  type GeneratedRelease,
} from './partition-images.js';

export type PacLayoutVersion = 'BP_R1.0.0' | 'BP_R2.0.1';
export const PAC_PRODUCT = 'ums9230_4h10';

/** One PAC entry to write. */
export interface PacFixtureEntry {
  readonly fileId: string;
  readonly fileName: string;
  /** nFileFlag: 0 operation, 1 file, 2 config XML. */
  readonly fileFlag: number;
  readonly checkFlag: number;
  readonly address: number;
  readonly data: Buffer;
  /** Where the data went (filled in by the writer). */
  offsetBytes?: number;
}

/** A generated PAC plus where each entry and its data sit. */
export interface UnisocRelease extends GeneratedRelease {
  readonly pacVersion: PacLayoutVersion;
  readonly entries: readonly PacFixtureEntry[];
  readonly configXml: string;
}

/** Options for makeUnisocPac. */
export interface UnisocPacOptions {
  readonly pacVersion?: PacLayoutVersion;
  readonly fileName?: string;
}

/** Writes release `version` (1 or 2) as `dir/<fileName>` (default `UMS9230_4h10_v<N>.pac`). */
export async function makeUnisocPac(dir: string, version: 1 | 2, opts: UnisocPacOptions = {}): Promise<UnisocRelease> {
  mkdirSync(dir, { recursive: true });
  const v2 = version === 2;
  const pacVersion = opts.pacVersion ?? 'BP_R2.0.1';
  const fdl1 = partitionImage('sprd/fdl1', 24 * KiB);
  const fdl2 = partitionImage('sprd/fdl2', 48 * KiB);
  const nv = partitionImage('sprd/nv', 16 * KiB, 0.5);
  const prodnv = partitionImage('sprd/prodnv', 32 * KiB, 0.7);
  const uboot = partitionImage('sprd/uboot', 96 * KiB);
  const logoV1 = partitionImage('sprd/logo', 64 * KiB, 0.25);
  const bootV1 = partitionImage('sprd/boot', 192 * KiB);
  const dtboV1 = partitionImage('sprd/dtbo', 32 * KiB);
  const vbmetaV1 = partitionImage('sprd/vbmeta', 8 * KiB);
  const superV1 = partitionImage('sprd/super', 448 * KiB, 0.5);
  const userdataV1 = partitionImage('sprd/userdata', 256 * KiB, 0.9);
  const logo = v2 ? editedImage(logoV1, 'sprd/logo', 4, 32 * KiB) : logoV1;
  const boot = v2 ? editedImage(bootV1, 'sprd/boot') : bootV1;
  const dtbo = v2 ? editedImage(dtboV1, 'sprd/dtbo', 3) : dtboV1;
  const vbmeta = v2 ? editedImage(vbmetaV1, 'sprd/vbmeta', 2) : vbmetaV1;
  const superImage = v2
    ? grownImage(editedImage(superV1, 'sprd/super', 10, 220 * KiB), 'sprd/super', 1216 * KiB, 64 * KiB)
    : superV1;
  const userdata = v2 ? editedImage(userdataV1, 'sprd/userdata', 3, 24 * KiB) : userdataV1;
  const superMiB = v2 ? 2 : 1;

  // [file id, file name, XML Type, partition (Block id), backup, image, sparse]
  const files: Array<[string, string, string, string, boolean, Buffer, boolean]> = [
    ['FDL', 'fdl1-sign.bin', 'FDL', '', false, fdl1, false],
    ['FDL2', 'fdl2-sign.bin', 'NAND_FDL', '', false, fdl2, false],
    ['NV_COMM', 'ums9230_nvitem.bin', 'NV_COMM', 'l_fixnv1', false, nv, false],
    ['ProdNV', 'prodnv.img', 'CODE2', 'prodnv', true, prodnv, false],
    ['UBOOTLoader', 'u-boot-sign.bin', 'CODE2', 'uboot_a', false, uboot, false],
    ['Logo', 'logo.bmp', 'CODE2', 'logo', false, logo, false],
    ['BOOT', 'boot.img', 'CODE2', 'boot_a', false, boot, false],
    ['DTBO', 'dtbo.img', 'CODE2', 'dtbo_a', false, dtbo, false],
    ['VBMETA', 'vbmeta-sign.img', 'CODE2', 'vbmeta_a', false, vbmeta, false],
    ['Super', 'super.img', 'CODE2', 'super', false, superImage, true],
    ['UserData', 'userdata.img', 'CODE2', 'userdata', false, userdata, true],
  ];
  const partitionSizesMiB: Array<[string, number]> = [
    ['prodnv', 5],
    ['miscdata', 1],
    ['l_fixnv1', 1],
    ['uboot_a', 1],
    ['uboot_b', 1],
    ['logo', 1],
    ['boot_a', 1],
    ['boot_b', 1],
    ['dtbo_a', 1],
    ['dtbo_b', 1],
    ['vbmeta_a', 1],
    ['vbmeta_b', 1],
    ['metadata', 1],
    ['super', superMiB],
    ['userdata', 0xffffffff],
  ];
  const configXml = bmaConfig(partitionSizesMiB, files, version);
  const entries: PacFixtureEntry[] = [];
  for (const [fileId, fileName, , , , image, sparse] of files) {
    const address = fileId === 'FDL' ? 0x5500 : fileId === 'FDL2' ? 0x9efffe00 : 0;
    entries.push({
      fileId,
      fileName,
      fileFlag: 1,
      checkFlag: 1,
      address,
      data: sparse ? await sparseBytes(image) : image,
    });
  }
  entries.push({ fileId: 'EraseMetadata', fileName: '', fileFlag: 0, checkFlag: 1, address: 0, data: Buffer.alloc(0) });
  entries.push({
    fileId: '',
    fileName: `${PAC_PRODUCT}.xml`,
    fileFlag: 2,
    checkFlag: 0,
    address: 0,
    data: Buffer.from(configXml, 'utf8'),
  });

  const path = join(dir, opts.fileName ?? `UMS9230_4h10_v${version}.pac`);
  writeFileSync(path, encodePac(pacVersion, `${PAC_PRODUCT}_v${version}`, entries));
  const sizeOf = (name: string): number | undefined => {
    const mib = partitionSizesMiB.find(([id]) => id === name)?.[1];
    return mib === undefined || mib === 0xffffffff ? undefined : mib * MiB;
  };
  // What the reader reports: entries in PAC order, each `_a` followed by its config-only `_b`,
  // then the other config-only partitions in config order (no file, not upgradable).
  const filled = new Set(files.map(([fileId, , , block]) => block || fileId));
  const configOnly = (name: string): GeneratedPartition => ({
    name,
    fileName: undefined,
    layoutSizeBytes: sizeOf(name),
    upgradable: false,
    sparse: false,
    image: undefined,
  });
  const partitions: GeneratedPartition[] = [];
  for (const [fileId, fileName, , block, backup, image, sparse] of files) {
    const name = block || fileId;
    const upgradable = block !== '' && !backup && !fileId.startsWith('NV');
    partitions.push({ name, fileName, layoutSizeBytes: sizeOf(name), upgradable, sparse, image });
    const sibling = name.endsWith('_a') ? `${name.slice(0, -2)}_b` : undefined;
    if (sibling && !filled.has(sibling) && partitionSizesMiB.some(([id]) => id === sibling))
      partitions.push(configOnly(sibling));
  }
  for (const [name] of partitionSizesMiB)
    if (!partitions.some((p) => p.name === name)) partitions.push(configOnly(name));
  return { path, pacVersion, entries, configXml, partitions };
}

function bmaConfig(
  sizes: ReadonlyArray<[string, number]>,
  files: ReadonlyArray<[string, string, string, string, boolean, Buffer, boolean]>,
  version: number,
): string {
  const parts = sizes.map(
    ([id, mib]) => `        <Partition id="${id}" size="${mib === 0xffffffff ? '0xFFFFFFFF' : mib}"/>`,
  );
  const file = ([id, , type, block, backup]: readonly [
    string,
    string,
    string,
    string,
    boolean,
    ...unknown[],
  ]): string => {
    const base = id === 'FDL' ? '0x5500' : id === 'FDL2' ? '0x9efffe00' : '0x0';
    return [
      `      <File${backup ? ' backup="1"' : ''}>`,
      `        <ID>${id}</ID>`,
      `        <IDAlias>${id}</IDAlias>`,
      `        <Type>${type}</Type>`,
      `        <Block${block ? ` id="${block}"` : ''}>`,
      `          <Base>${base}</Base>`,
      '          <Size>0x0</Size>',
      '        </Block>',
      '        <Flag>1</Flag>',
      '        <CheckFlag>1</CheckFlag>',
      `        <Description>${id}</Description>`,
      '      </File>',
    ].join('\n');
  };
  const erase = [
    '      <File>',
    '        <ID>EraseMetadata</ID>',
    '        <Type>EraseFlash2</Type>',
    '        <Block id="metadata"><Base>0x0</Base><Size>0x0</Size></Block>',
    '        <Flag>0</Flag>',
    '        <CheckFlag>1</CheckFlag>',
    '      </File>',
  ].join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<BMAConfig>',
    '  <ProductList>',
    `    <Product name="${PAC_PRODUCT}">`,
    `      <SchemeName>${PAC_PRODUCT}</SchemeName>`,
    '      <FlashTypeID>2</FlashTypeID>',
    `      <Version>v${version}</Version>`,
    '      <NVBackup backup="1"><NVItem name="Calibration" backup="1"><ID>0xFFFFFFFF</ID></NVItem></NVBackup>',
    '      <Partitions>',
    ...parts,
    '      </Partitions>',
    '    </Product>',
    '  </ProductList>',
    '  <SchemeList>',
    `    <Scheme name="${PAC_PRODUCT}">`,
    ...files.map(file),
    erase,
    '    </Scheme>',
    '  </SchemeList>',
    '</BMAConfig>',
    '',
  ].join('\n');
}

export const FIXTURE_PAC_HEADER_BYTES = 2124;
export const FIXTURE_PAC_ENTRY_BYTES = 2580;

/** Writes the PAC bytes: header, entry table at 2124, payloads back to back, then both CRCs. */
export function encodePac(pacVersion: PacLayoutVersion, firmwareName: string, entries: PacFixtureEntry[]): Buffer {
  const r2 = pacVersion === 'BP_R2.0.1';
  let at = FIXTURE_PAC_HEADER_BYTES + entries.length * FIXTURE_PAC_ENTRY_BYTES;
  for (const e of entries) {
    e.offsetBytes = e.data.length > 0 ? at : 0;
    at += e.data.length;
  }
  const total = at;
  const header = Buffer.alloc(FIXTURE_PAC_HEADER_BYTES);
  utf16Field(pacVersion, r2 ? 44 : 48).copy(header, 0);
  if (r2) header.writeUInt32LE(Math.floor(total / 2 ** 32), 44);
  header.writeUInt32LE(total % 2 ** 32, 48);
  utf16Field(PAC_PRODUCT, 512).copy(header, 52);
  utf16Field(firmwareName, 512).copy(header, 564);
  header.writeUInt32LE(entries.length, 1076);
  header.writeUInt32LE(FIXTURE_PAC_HEADER_BYTES, 1080);
  header.writeUInt32LE(0, 1084); // dwMode
  header.writeUInt32LE(2, 1088); // dwFlashType (2 = eMMC/UFS managed flash in Unisoc tools)
  header.writeUInt32LE(1, 1096); // dwIsNvBackup
  utf16Field(PAC_PRODUCT, 200).copy(header, 1104);
  header.writeUInt32LE(0xfffafffa, 2116);
  const table = Buffer.alloc(entries.length * FIXTURE_PAC_ENTRY_BYTES);
  entries.forEach((e, i) => {
    const b = table.subarray(i * FIXTURE_PAC_ENTRY_BYTES, (i + 1) * FIXTURE_PAC_ENTRY_BYTES);
    b.writeUInt32LE(FIXTURE_PAC_ENTRY_BYTES, 0);
    utf16Field(e.fileId, 512).copy(b, 4);
    utf16Field(e.fileName, 512).copy(b, 516);
    utf16Field(e.fileName ? 'V1.0' : '', r2 ? 504 : 512).copy(b, 1028);
    if (r2) {
      b.writeUInt32LE(Math.floor(e.data.length / 2 ** 32), 1532);
      b.writeUInt32LE(Math.floor(e.offsetBytes! / 2 ** 32), 1536);
    }
    b.writeUInt32LE(e.data.length % 2 ** 32, 1540);
    b.writeUInt32LE(e.fileFlag, 1544);
    b.writeUInt32LE(e.checkFlag, 1548);
    b.writeUInt32LE(e.offsetBytes! % 2 ** 32, 1552);
    b.writeUInt32LE(0, 1556);
    b.writeUInt32LE(e.address ? 1 : 0, 1560);
    b.writeUInt32LE(e.address, 1564);
  });
  const pac = Buffer.concat([header, table, ...entries.map((e) => e.data)]);
  return refreshPacCrcs(pac);
}

/** Recomputes wCRC1 and wCRC2 in place (after a test edits a field) and returns `pac`. */
export function refreshPacCrcs(pac: Buffer): Buffer {
  pac.writeUInt16LE(fixtureCrc16(pac.subarray(0, 2120)), 2120);
  pac.writeUInt16LE(fixtureCrc16(pac.subarray(FIXTURE_PAC_HEADER_BYTES)), 2122);
  return pac;
}

/** Bitwise CRC-16/ARC (poly 0xA001 reflected, init 0), deliberately not the reader's table version. */
export function fixtureCrc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
