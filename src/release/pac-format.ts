// Unisoc/Spreadtrum PAC bytes: the 2124-byte header (BIN_PACKET_HEADER_T), the 2580-byte file
// entries (FILE_T) in both versions, and the CRC-16 the format uses. Pure decode and checks, no
// file I/O and no policy (unisoc-pac.ts reads, verifies and decides).
//
// Header (little-endian; BP_R2.0.1 took the version string's last 4 bytes for the size's high word):
//     0 szVersion      UTF-16LE, 48 bytes in R1 / 44 bytes in R2     44 dwHiSize (R2 only)
//    48 dwSize/dwLoSize  52 szPrdName[512 B]  564 szPrdVersion[512 B]  1076 nFileCount
//  1080 dwFileOffset   1084 dwMode  1088 dwFlashType  1092 dwNandStrategy  1096 dwIsNvBackup
//  1100 dwNandPageType 1104 szPrdAlias[200 B]  1304 dwOmaDmProductFlag  1308 dwIsOmaDM
//  1312 dwIsPreload    1316 dwReserved[200]    2116 dwMagic 0xFFFAFFFA
//  2120 wCRC1 (CRC-16 of bytes 0..2120)        2122 wCRC2 (CRC-16 of everything after the header)
// Entry (R2 shortened szFileVersion to 504 bytes for the high words of size and offset):
//     0 dwSize (2580)  4 szFileID[512 B]  516 szFileName[512 B]  1028 szFileVersion[512 B / 504 B]
//  1532 dwHiFileSize (R2)  1536 dwHiDataOffset (R2)  1540 dwFileSize/dwLoFileSize  1544 nFileFlag
//  1548 nCheckFlag  1552 dwDataOffset/dwLoDataOffset  1556 dwCanOmitFlag  1560 dwAddrNum
//  1564 dwAddr[5]   1584 dwReserved[249]

/** Size of the fixed header. */
export const PAC_HEADER_BYTES = 2124;
/** Size of each file entry. */
export const PAC_ENTRY_BYTES = 2580;
/** dwMagic at offset 2116 (bytes `fa ff fa ff`). */
export const PAC_MAGIC = 0xfffafffa;
export const PAC_MAGIC_OFFSET = 2116;
/** wCRC1 covers the header bytes before it. */
export const PAC_HEADER_CRC_OFFSET = 2120;
export const PAC_PAYLOAD_CRC_OFFSET = 2122;
/** Most entries accepted (real packages hold well under a hundred); checked before reading the table. */
export const PAC_MAX_ENTRIES = 1024;

/** The two layouts in use, by their version string. */
export const PacVersion = { r1: 'BP_R1.0.0', r2: 'BP_R2.0.1' } as const;
export type PacVersion = (typeof PacVersion)[keyof typeof PacVersion];

/** nFileFlag values. */
export const PacFileFlag = { operation: 0, file: 1, config: 2 } as const;

/** The decoded header. 64-bit values of R2 may exceed 2^53: callers check Number.isSafeInteger. */
export interface PacHeader {
  /** The version string as stored (compare with PacVersion). */
  readonly version: string;
  readonly totalSizeBytes: number;
  readonly productName: string;
  readonly firmwareName: string;
  readonly entryCount: number;
  readonly entryListOffsetBytes: number;
  readonly mode: number;
  readonly flashType: number;
  readonly nandStrategy: number;
  readonly nvBackup: number;
  readonly nandPageType: number;
  readonly productAlias: string;
  readonly magic: number;
  /** wCRC1 as stored. */
  readonly headerCrc: number;
  /** wCRC2 as stored. */
  readonly payloadCrc: number;
}

/** One decoded file entry. */
export interface PacEntry {
  /** dwSize: must be PAC_ENTRY_BYTES. */
  readonly entryBytes: number;
  /** szFileID: the partition/file id (`FDL`, `BOOT`, `NV_COMM`…). */
  readonly fileId: string;
  readonly fileName: string;
  /** szFileVersion (the "second name"). */
  readonly fileVersion: string;
  readonly sizeBytes: number;
  /** nFileFlag: PacFileFlag. */
  readonly fileFlag: number;
  readonly checkFlag: number;
  readonly dataOffsetBytes: number;
  readonly omitFlag: number;
  readonly addressCount: number;
  /** The five dwAddr words. */
  readonly addresses: readonly number[];
}

/** A UTF-16LE field, up to its first NUL. */
function utf16(bytes: Uint8Array, offset: number, lengthBytes: number): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + offset, lengthBytes).toString('utf16le');
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The version string at offset 0 (decides the layout of the rest). Needs ≥ 48 bytes. */
export function decodePacVersion(bytes: Uint8Array): string {
  return utf16(bytes, 0, 44);
}

/** Decodes the header from its PAC_HEADER_BYTES bytes (R2 layout when the version says so). */
export function decodePacHeader(bytes: Uint8Array): PacHeader {
  if (bytes.length < PAC_HEADER_BYTES)
    throw new RangeError(`PAC header needs ${PAC_HEADER_BYTES} bytes, got ${bytes.length}`);
  const v = view(bytes);
  const r2 = decodePacVersion(bytes) === PacVersion.r2;
  const u32 = (at: number): number => v.getUint32(at, true);
  return {
    version: r2 ? utf16(bytes, 0, 44) : utf16(bytes, 0, 48),
    totalSizeBytes: r2 ? u32(44) * 2 ** 32 + u32(48) : u32(48),
    productName: utf16(bytes, 52, 512),
    firmwareName: utf16(bytes, 564, 512),
    entryCount: u32(1076),
    entryListOffsetBytes: u32(1080),
    mode: u32(1084),
    flashType: u32(1088),
    nandStrategy: u32(1092),
    nvBackup: u32(1096),
    nandPageType: u32(1100),
    productAlias: utf16(bytes, 1104, 200),
    magic: u32(PAC_MAGIC_OFFSET),
    headerCrc: v.getUint16(PAC_HEADER_CRC_OFFSET, true),
    payloadCrc: v.getUint16(PAC_PAYLOAD_CRC_OFFSET, true),
  };
}

/** Decodes one entry from its PAC_ENTRY_BYTES bytes, in the layout of `version`. */
export function decodePacEntry(bytes: Uint8Array, version: PacVersion): PacEntry {
  if (bytes.length < PAC_ENTRY_BYTES)
    throw new RangeError(`PAC entry needs ${PAC_ENTRY_BYTES} bytes, got ${bytes.length}`);
  const v = view(bytes);
  const u32 = (at: number): number => v.getUint32(at, true);
  const r2 = version === PacVersion.r2;
  return {
    entryBytes: u32(0),
    fileId: utf16(bytes, 4, 512),
    fileName: utf16(bytes, 516, 512),
    fileVersion: utf16(bytes, 1028, r2 ? 504 : 512),
    sizeBytes: (r2 ? u32(1532) * 2 ** 32 : 0) + u32(1540),
    fileFlag: u32(1544),
    checkFlag: u32(1548),
    dataOffsetBytes: (r2 ? u32(1536) * 2 ** 32 : 0) + u32(1552),
    omitFlag: u32(1556),
    addressCount: u32(1560),
    addresses: [0, 1, 2, 3, 4].map((i) => u32(1564 + 4 * i)),
  };
}

let crcTable: Uint16Array | undefined;

/**
 * CRC-16/ARC (reflected polynomial 0xA001, initial value 0, no final xor), continuing from
 * `previous` so it can run over a file piece by piece. crc16Arc("123456789") === 0xBB3D.
 */
export function crc16Arc(data: Uint8Array, previous = 0): number {
  if (!crcTable) {
    crcTable = new Uint16Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
      crcTable[n] = c;
    }
  }
  const table = crcTable;
  let crc = previous & 0xffff;
  for (let i = 0; i < data.length; i++) crc = (crc >>> 8) ^ table[(crc ^ data[i]!) & 0xff]!;
  return crc;
}
