// Android sparse image bytes (libsparse `sparse_format.h`, major version 1): the 28-byte file
// header, the 12-byte chunk header, chunk type ids and the size limit for sparse inputs (its CRC32
// is hashing/crc32.ts). Pure: decode, encode and field-consistency checks. No file I/O and no policy
// (sparse-image-source.ts turns the problems found here into ImageErrors with positions).

import { MAX_INPUT_IMAGE_BYTES, MAX_INPUT_IMAGE_LABEL } from './input-image-limit.js';

/** Magic u32 at offset 0 (little-endian bytes `3a ff 26 ed`). */
export const SPARSE_HEADER_MAGIC = 0xed26ff3a;
/** The only major version there is; readers must reject others. Minor versions are compatible. */
export const SPARSE_MAJOR_VERSION = 1;
/** Size of the file header. The format lets it grow; we accept exactly this size. */
export const SPARSE_FILE_HEADER_BYTES = 28;
/** Size of each chunk header. The format lets it grow; we accept exactly this size. */
export const SPARSE_CHUNK_HEADER_BYTES = 12;

/**
 * Largest logical (expanded) image accepted from a sparse file: the input image limit
 * (input-image-limit.ts); a header claiming more (total_blks × blk_sz) is refused before anything
 * is sized from it.
 */
export const MAX_SPARSE_IMAGE_BYTES = MAX_INPUT_IMAGE_BYTES;

/** Chunk type ids (u16 at chunk offset 0). */
export const SparseChunkType = {
  /** chunk_sz blocks of data follow the header. */
  raw: 0xcac1,
  /** A 4-byte value follows; it repeats over chunk_sz blocks. */
  fill: 0xcac2,
  /** chunk_sz blocks with undefined content; no data (reads as zeros). */
  dontCare: 0xcac3,
  /** A 4-byte crc32 of the expanded image so far follows; covers no blocks (chunk_sz 0). */
  crc32: 0xcac4,
} as const;
/** One of the chunk type ids. */
export type SparseChunkType = (typeof SparseChunkType)[keyof typeof SparseChunkType];

/** The 28-byte file header, field by field (names follow sparse_format.h, units spelled out). */
export interface SparseFileHeader {
  readonly magic: number;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly fileHeaderBytes: number;
  readonly chunkHeaderBytes: number;
  readonly blockSizeBytes: number;
  readonly totalBlocks: number;
  readonly totalChunks: number;
  /** crc32 of the whole expanded image (DONT_CARE as zeros); 0 means none. */
  readonly imageChecksum: number;
}

/** The 12-byte chunk header. */
export interface SparseChunkHeader {
  readonly chunkType: number;
  readonly reserved: number;
  /** Output blocks this chunk covers (chunk_sz). */
  readonly chunkBlocks: number;
  /** Bytes of this chunk in the sparse file, header included (total_sz). */
  readonly totalBytes: number;
}

/**
 * What a file's first bytes (up to SPARSE_FILE_HEADER_BYTES) say it is: `sparse` (the magic),
 * `damaged-sparse` (no magic, but bytes 4-15 are a sparse header's: version 1, the 28- and 12-byte
 * header sizes and a block size that is a positive multiple of 4: a sparse image whose first
 * bytes were damaged, which read as raw would be its container bytes, not the image it holds),
 * or `raw`.
 */
export function sparseContainerOf(head: Uint8Array): 'sparse' | 'damaged-sparse' | 'raw' {
  if (head.length < 4) return 'raw';
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (v.getUint32(0, true) === SPARSE_HEADER_MAGIC) return 'sparse';
  if (head.length < 16) return 'raw';
  const blockSizeBytes = v.getUint32(12, true);
  const restIsSparse =
    v.getUint16(4, true) === SPARSE_MAJOR_VERSION &&
    v.getUint16(8, true) === SPARSE_FILE_HEADER_BYTES &&
    v.getUint16(10, true) === SPARSE_CHUNK_HEADER_BYTES &&
    blockSizeBytes > 0 &&
    blockSizeBytes % 4 === 0;
  return restIsSparse ? 'damaged-sparse' : 'raw';
}

/** The detail of a damaged-sparse header (sparseContainerOf), for an error naming the file. */
export function damagedSparseDetail(head: Uint8Array): string {
  const got = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `an Android sparse header with a damaged magic (expected 3a ff 26 ed at offset 0, got ${got}): refused rather than read as a raw image`;
}

/** A header problem: the error code to raise and what is wrong, without the path. */
export interface SparseHeaderProblem {
  readonly code: 'SPARSE_BAD_HEADER' | 'IMAGE_TOO_LARGE' | 'IMAGE_EMPTY';
  readonly detail: string;
}

/** A valid header for writing: magic, version 1.0 and the standard sizes filled in. */
export function sparseFileHeader(
  blockSizeBytes: number,
  totalBlocks: number,
  totalChunks: number,
  imageChecksum = 0,
): SparseFileHeader {
  return {
    magic: SPARSE_HEADER_MAGIC,
    majorVersion: SPARSE_MAJOR_VERSION,
    minorVersion: 0,
    fileHeaderBytes: SPARSE_FILE_HEADER_BYTES,
    chunkHeaderBytes: SPARSE_CHUNK_HEADER_BYTES,
    blockSizeBytes,
    totalBlocks,
    totalChunks,
    imageChecksum,
  };
}

/** Decodes the file header from the first 28 bytes of `bytes` (the caller checks the length). */
export function decodeSparseFileHeader(bytes: Uint8Array): SparseFileHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, SPARSE_FILE_HEADER_BYTES);
  return {
    magic: v.getUint32(0, true),
    majorVersion: v.getUint16(4, true),
    minorVersion: v.getUint16(6, true),
    fileHeaderBytes: v.getUint16(8, true),
    chunkHeaderBytes: v.getUint16(10, true),
    blockSizeBytes: v.getUint32(12, true),
    totalBlocks: v.getUint32(16, true),
    totalChunks: v.getUint32(20, true),
    imageChecksum: v.getUint32(24, true),
  };
}

/** Encodes a file header to 28 bytes. Fields are written as given (tests build bad headers too). */
export function encodeSparseFileHeader(h: SparseFileHeader): Buffer {
  const buf = Buffer.alloc(SPARSE_FILE_HEADER_BYTES);
  buf.writeUInt32LE(h.magic >>> 0, 0);
  buf.writeUInt16LE(h.majorVersion, 4);
  buf.writeUInt16LE(h.minorVersion, 6);
  buf.writeUInt16LE(h.fileHeaderBytes, 8);
  buf.writeUInt16LE(h.chunkHeaderBytes, 10);
  buf.writeUInt32LE(h.blockSizeBytes >>> 0, 12);
  buf.writeUInt32LE(h.totalBlocks >>> 0, 16);
  buf.writeUInt32LE(h.totalChunks >>> 0, 20);
  buf.writeUInt32LE(h.imageChecksum >>> 0, 24);
  return buf;
}

/** Decodes a chunk header from 12 bytes at `offset` of `bytes` (the caller checks the length). */
export function decodeSparseChunkHeader(bytes: Uint8Array, offset = 0): SparseChunkHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset + offset, SPARSE_CHUNK_HEADER_BYTES);
  return {
    chunkType: v.getUint16(0, true),
    reserved: v.getUint16(2, true),
    chunkBlocks: v.getUint32(4, true),
    totalBytes: v.getUint32(8, true),
  };
}

/** Encodes a chunk header to 12 bytes. */
export function encodeSparseChunkHeader(c: SparseChunkHeader): Buffer {
  const buf = Buffer.alloc(SPARSE_CHUNK_HEADER_BYTES);
  buf.writeUInt16LE(c.chunkType, 0);
  buf.writeUInt16LE(c.reserved, 2);
  buf.writeUInt32LE(c.chunkBlocks >>> 0, 4);
  buf.writeUInt32LE(c.totalBytes >>> 0, 8);
  return buf;
}

/** Name of a chunk type for messages (`RAW`, `FILL`, `DONT_CARE`, `CRC32`, or the hex id). */
export function sparseChunkTypeName(chunkType: number): string {
  switch (chunkType) {
    case SparseChunkType.raw:
      return 'RAW';
    case SparseChunkType.fill:
      return 'FILL';
    case SparseChunkType.dontCare:
      return 'DONT_CARE';
    case SparseChunkType.crc32:
      return 'CRC32';
    default:
      return `0x${chunkType.toString(16).padStart(4, '0')}`;
  }
}

/** What is wrong with a file header, checked in file order; undefined when it is usable. */
export function sparseFileHeaderProblem(h: SparseFileHeader): SparseHeaderProblem | undefined {
  const bad = (detail: string): SparseHeaderProblem => ({ code: 'SPARSE_BAD_HEADER', detail });
  if (h.magic !== SPARSE_HEADER_MAGIC) {
    const got = Array.from(encodeSparseFileHeader(h).subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return bad(`bad magic at offset 0: expected 3a ff 26 ed, got ${got}`);
  }
  if (h.majorVersion !== SPARSE_MAJOR_VERSION)
    return bad(`major_version at byte 4 is ${h.majorVersion}; only version 1 exists`);
  if (h.fileHeaderBytes !== SPARSE_FILE_HEADER_BYTES)
    return bad(
      `file_hdr_sz at byte 8 is ${h.fileHeaderBytes}; only ${SPARSE_FILE_HEADER_BYTES}-byte file headers are supported`,
    );
  if (h.chunkHeaderBytes !== SPARSE_CHUNK_HEADER_BYTES)
    return bad(
      `chunk_hdr_sz at byte 10 is ${h.chunkHeaderBytes}; only ${SPARSE_CHUNK_HEADER_BYTES}-byte chunk headers are supported`,
    );
  if (h.blockSizeBytes === 0 || h.blockSizeBytes % 4 !== 0)
    return bad(`blk_sz at byte 12 is ${h.blockSizeBytes}; it must be a positive multiple of 4`);
  const expandedBytes = h.totalBlocks * h.blockSizeBytes;
  if (expandedBytes > MAX_SPARSE_IMAGE_BYTES) {
    return {
      code: 'IMAGE_TOO_LARGE',
      detail: `total_blks ${h.totalBlocks} × blk_sz ${h.blockSizeBytes} expands to ${expandedBytes} bytes, over the ${MAX_SPARSE_IMAGE_BYTES}-byte (${MAX_INPUT_IMAGE_LABEL}) limit for input images`,
    };
  }
  if (h.totalBlocks === 0) return { code: 'IMAGE_EMPTY', detail: 'total_blks is 0: the image is empty' };
  return undefined;
}

/**
 * The total_sz a chunk of this type and size must have, or undefined for an unknown type.
 * May exceed u32 for a huge RAW chunk, which then cannot match any total_sz.
 */
export function expectedSparseChunkBytes(
  chunkType: number,
  chunkBlocks: number,
  blockSizeBytes: number,
): number | undefined {
  switch (chunkType) {
    case SparseChunkType.raw:
      return SPARSE_CHUNK_HEADER_BYTES + chunkBlocks * blockSizeBytes;
    case SparseChunkType.fill:
      return SPARSE_CHUNK_HEADER_BYTES + 4;
    case SparseChunkType.dontCare:
      return SPARSE_CHUNK_HEADER_BYTES;
    case SparseChunkType.crc32:
      return SPARSE_CHUNK_HEADER_BYTES + 4;
    default:
      return undefined;
  }
}

/** What is wrong with a chunk header on its own (type, total_sz, CRC32 chunk_sz); undefined if fine. */
export function sparseChunkHeaderProblem(c: SparseChunkHeader, blockSizeBytes: number): string | undefined {
  const expected = expectedSparseChunkBytes(c.chunkType, c.chunkBlocks, blockSizeBytes);
  const name = sparseChunkTypeName(c.chunkType);
  if (expected === undefined)
    return `unknown chunk type ${name} (expected RAW 0xcac1, FILL 0xcac2, DONT_CARE 0xcac3 or CRC32 0xcac4)`;
  if (c.chunkType === SparseChunkType.crc32 && c.chunkBlocks !== 0)
    return `CRC32 chunk has chunk_sz ${c.chunkBlocks}; it must be 0`;
  if (c.totalBytes !== expected)
    return `${name} chunk of ${c.chunkBlocks} blocks has total_sz ${c.totalBytes}; expected ${expected}`;
  return undefined;
}
