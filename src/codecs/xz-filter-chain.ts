// The filter chains an xz blob may use, read from every block header (found through the
// stream's index): [LZMA2], [x86 BCJ without a start offset, LZMA2] or, in a one-block stream,
// [ARM64 BCJ without a start offset, LZMA2]; and where each block lies. Pure: bytes in, facts out.

import { blobDecodeError } from './codec-errors.js';
import { crc32 } from '../hashing/crc32.js';

/** Filter ids (xz file format §5.3; ARM64 since xz 5.4). */
export const FILTER_LZMA2 = 0x21;
export const FILTER_X86 = 0x04;
export const FILTER_ARM64 = 0x0a;
/** Stream header and footer sizes (§2.1). */
export const STREAM_HEADER_BYTES = 12;
const STREAM_FOOTER_BYTES = 12;
/** Integrity check sizes by check id (CRC32, CRC64, SHA-256). */
const CHECK_BYTES = new Map([
  [0x01, 4],
  [0x04, 8],
  [0x0a, 32],
]);

/** The allowed chains: LZMA2 alone, or after the x86 or ARM64 BCJ filter (no start offset). */
export type XzChain = 'lzma2' | 'x86' | 'arm64';

/** One block: where its header starts, its size, chain, LZMA2 properties byte and index sizes. */
export interface XzBlockLayout {
  readonly headerAt: number;
  readonly headerBytes: number;
  readonly chain: XzChain;
  readonly lzma2Property: number;
  readonly unpaddedBytes: number;
  readonly uncompressedBytes: number;
}

/** A stream's check, index position and blocks. */
export interface XzStreamLayout {
  readonly checkId: number;
  readonly checkBytes: number;
  readonly indexAt: number;
  readonly blocks: readonly XzBlockLayout[];
}

/**
 * Reads the index and every block header. Any chain other than the allowed ones, an ARM64 chain
 * in a stream of more than one block, a block header whose CRC32 is wrong, whose padding is not
 * zero or whose stated sizes are not the index's, index padding that is not zero, or a header or
 * index that does not parse, is BLOB_DECODE_FAILED. Assumes the stream header and footer magic were checked.
 */
export function readXzLayout(data: Uint8Array): XzStreamLayout {
  const checkId = data[7] ?? 0;
  const checkBytes = CHECK_BYTES.get(checkId) ?? 0;
  const footer = data.length - STREAM_FOOTER_BYTES;
  const backwardBytes = (readU32(data, footer + 4) + 1) * 4;
  const indexAt = footer - backwardBytes;
  if (indexAt < STREAM_HEADER_BYTES || data[indexAt] !== 0x00)
    throw blobDecodeError('xz', `index at offset ${indexAt} missing (backward size ${backwardBytes})`);
  const cursor = { at: indexAt + 1 };
  const records = readVarint(data, cursor, footer);
  let blockAt = STREAM_HEADER_BYTES;
  const blocks: XzBlockLayout[] = [];
  for (let i = 0; i < records; i++) {
    const unpaddedBytes = readVarint(data, cursor, footer);
    const uncompressedBytes = readVarint(data, cursor, footer);
    if (blockAt >= indexAt) throw blobDecodeError('xz', `block ${i} starts at ${blockAt}, past the index`);
    const { statedCompressedBytes, statedUncompressedBytes, ...header } = readBlockHeader(data, blockAt, indexAt);
    if (unpaddedBytes < header.headerBytes + 1 + checkBytes)
      throw blobDecodeError('xz', `block ${i} unpadded size ${unpaddedBytes} too small`);
    // Sizes a block header states must be the index's (§3.1.3, §3.1.4).
    const compressedBytes = unpaddedBytes - header.headerBytes - checkBytes;
    if (statedCompressedBytes !== undefined && statedCompressedBytes !== compressedBytes)
      throw blobDecodeError(
        'xz',
        `block ${i} header states ${statedCompressedBytes} compressed bytes, index ${compressedBytes}`,
      );
    if (statedUncompressedBytes !== undefined && statedUncompressedBytes !== uncompressedBytes)
      throw blobDecodeError(
        'xz',
        `block ${i} header states ${statedUncompressedBytes} bytes, index ${uncompressedBytes}`,
      );
    blocks.push({ ...header, unpaddedBytes, uncompressedBytes });
    blockAt += Math.ceil(unpaddedBytes / 4) * 4;
  }
  if (blockAt !== indexAt) throw blobDecodeError('xz', `blocks end at ${blockAt}, index starts at ${indexAt}`);
  // The records end in 0-3 zero bytes of padding, then the index CRC32 (§4.4, §4.5).
  const indexCrcAt = footer - 4;
  if (indexCrcAt - cursor.at > 3 || data.subarray(cursor.at, indexCrcAt).some((b) => b !== 0))
    throw blobDecodeError('xz', `index padding at ${cursor.at}..${indexCrcAt} is not 0-3 zero bytes`);
  if (blocks.length > 1 && blocks.some((b) => b.chain === 'arm64'))
    throw blobDecodeError('xz', `stream of ${blocks.length} blocks uses the ARM64 chain: allowed in one block only`);
  return { checkId, checkBytes, indexAt, blocks };
}

/** Parses the block header at `at` (size, CRC32, chain); throws for a chain that is not allowed. */
function readBlockHeader(
  data: Uint8Array,
  at: number,
  end: number,
): Omit<XzBlockLayout, 'unpaddedBytes' | 'uncompressedBytes'> & {
  statedCompressedBytes?: number;
  statedUncompressedBytes?: number;
} {
  const headerBytes = ((data[at] ?? 0) + 1) * 4;
  if (data[at] === 0 || at + headerBytes > end) throw blobDecodeError('xz', `block header at ${at} is malformed`);
  if (crc32(data.subarray(at, at + headerBytes - 4)) !== readU32(data, at + headerBytes - 4))
    throw blobDecodeError('xz', `block header at ${at}: CRC32 mismatch`);
  const flags = data[at + 1] ?? 0;
  if ((flags & 0x3c) !== 0) throw blobDecodeError('xz', `block header at ${at} has reserved flags ${flags}`);
  const cursor = { at: at + 2 };
  const limit = at + headerBytes - 4;
  const statedCompressedBytes = (flags & 0x40) !== 0 ? readVarint(data, cursor, limit) : undefined;
  const statedUncompressedBytes = (flags & 0x80) !== 0 ? readVarint(data, cursor, limit) : undefined;
  const chain: string[] = [];
  let lzma2Property = -1;
  for (let f = 0; f <= (flags & 0x03); f++) {
    const id = readVarint(data, cursor, limit);
    const propsBytes = readVarint(data, cursor, limit);
    if (cursor.at + propsBytes > limit)
      throw blobDecodeError('xz', `block header at ${at}: filter properties overrun it`);
    if (id === FILTER_LZMA2 && propsBytes === 1) lzma2Property = data[cursor.at]!;
    cursor.at += propsBytes;
    chain.push(filterName(id, propsBytes));
  }
  const spelled = chain.join(',');
  const known = ({ lzma2: 'lzma2', 'x86,lzma2': 'x86', 'arm64,lzma2': 'arm64' } as const)[spelled];
  if (known === undefined) {
    throw blobDecodeError(
      'xz',
      `block at ${at} has filter chain [${spelled}] (id/property bytes): expected [lzma2], [x86, lzma2] or [arm64, lzma2] (BCJ without start offset)`,
    );
  }
  if (lzma2Property > 40)
    throw blobDecodeError('xz', `block at ${at}: LZMA2 dictionary property ${lzma2Property} > 40`);
  // The header's padding up to its CRC32 is zeros (§3.1.6).
  if (data.subarray(cursor.at, limit).some((b) => b !== 0))
    throw blobDecodeError('xz', `block header at ${at}: padding is not zero`);
  return {
    headerAt: at,
    headerBytes,
    chain: known,
    lzma2Property,
    ...(statedCompressedBytes === undefined ? {} : { statedCompressedBytes }),
    ...(statedUncompressedBytes === undefined ? {} : { statedUncompressedBytes }),
  };
}

function filterName(id: number, propsBytes: number): string {
  if (id === FILTER_LZMA2 && propsBytes === 1) return 'lzma2';
  if (id === FILTER_X86 && propsBytes === 0) return 'x86';
  if (id === FILTER_ARM64 && propsBytes === 0) return 'arm64';
  return `0x${id.toString(16)}/${propsBytes}`;
}

/** A multibyte integer (§1.2) of at most 9 bytes, below `end`. */
function readVarint(data: Uint8Array, cursor: { at: number }, end: number): number {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (cursor.at >= end) throw blobDecodeError('xz', `integer at ${cursor.at} runs past ${end}`);
    const byte = data[cursor.at++]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  throw blobDecodeError('xz', `integer ending at ${cursor.at} is longer than 9 bytes`);
}

/** A little-endian u32. */
export function readU32(data: Uint8Array, at: number): number {
  return ((data[at] ?? 0) | ((data[at + 1] ?? 0) << 8) | ((data[at + 2] ?? 0) << 16)) + (data[at + 3] ?? 0) * 2 ** 24;
}
