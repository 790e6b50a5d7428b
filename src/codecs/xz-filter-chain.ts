// The filter chains an xz blob may use, read from every block header (found through the
// stream's index): [LZMA2] or [x86 BCJ without a start offset, LZMA2]. Pure: bytes in, facts out.

import { blobDecodeError } from './codec-errors.js';

/** Filter ids (xz file format §5.3). */
const FILTER_LZMA2 = 0x21;
const FILTER_X86 = 0x04;
/** Stream header and footer sizes (§2.1). */
const STREAM_HEADER_BYTES = 12;
const STREAM_FOOTER_BYTES = 12;
/** Integrity check sizes by check id (CRC32, CRC64, SHA-256). */
const CHECK_BYTES = new Map([
  [0x01, 4],
  [0x04, 8],
  [0x0a, 32],
]);

/**
 * Checks every block's filter chain and returns whether some block uses the x86 BCJ filter.
 * Any other chain, or a header or index that does not parse, is BLOB_DECODE_FAILED. Assumes
 * the stream header and footer magic were checked.
 */
export function xzUsesX86Filter(data: Uint8Array): boolean {
  const checkBytes = CHECK_BYTES.get(data[7] ?? 0) ?? 0;
  const footer = data.length - STREAM_FOOTER_BYTES;
  const backwardBytes = (readU32(data, footer + 4) + 1) * 4;
  const indexAt = footer - backwardBytes;
  if (indexAt < STREAM_HEADER_BYTES || data[indexAt] !== 0x00)
    throw blobDecodeError('xz', `index at offset ${indexAt} missing (backward size ${backwardBytes})`);
  const cursor = { at: indexAt + 1 };
  const records = readVarint(data, cursor, footer);
  let blockAt = STREAM_HEADER_BYTES;
  let usesX86 = false;
  for (let i = 0; i < records; i++) {
    const unpaddedBytes = readVarint(data, cursor, footer);
    readVarint(data, cursor, footer);
    if (blockAt >= indexAt) throw blobDecodeError('xz', `block ${i} starts at ${blockAt}, past the index`);
    usesX86 = checkBlockHeader(data, blockAt, indexAt) || usesX86;
    if (unpaddedBytes < 5 + checkBytes)
      throw blobDecodeError('xz', `block ${i} unpadded size ${unpaddedBytes} too small`);
    blockAt += Math.ceil(unpaddedBytes / 4) * 4;
  }
  if (blockAt !== indexAt) throw blobDecodeError('xz', `blocks end at ${blockAt}, index starts at ${indexAt}`);
  return usesX86;
}

/** Parses the block header at `at`: returns true for [x86, LZMA2], false for [LZMA2], else throws. */
function checkBlockHeader(data: Uint8Array, at: number, end: number): boolean {
  const headerBytes = ((data[at] ?? 0) + 1) * 4;
  if (data[at] === 0 || at + headerBytes > end) throw blobDecodeError('xz', `block header at ${at} is malformed`);
  const flags = data[at + 1] ?? 0;
  if ((flags & 0x3c) !== 0) throw blobDecodeError('xz', `block header at ${at} has reserved flags ${flags}`);
  const cursor = { at: at + 2 };
  const limit = at + headerBytes - 4;
  if ((flags & 0x40) !== 0) readVarint(data, cursor, limit);
  if ((flags & 0x80) !== 0) readVarint(data, cursor, limit);
  const chain: string[] = [];
  for (let f = 0; f <= (flags & 0x03); f++) {
    const id = readVarint(data, cursor, limit);
    const propsBytes = readVarint(data, cursor, limit);
    cursor.at += propsBytes;
    if (cursor.at > limit) throw blobDecodeError('xz', `block header at ${at}: filter properties overrun it`);
    chain.push(
      id === FILTER_LZMA2 && propsBytes === 1
        ? 'lzma2'
        : id === FILTER_X86 && propsBytes === 0
          ? 'x86'
          : `0x${id.toString(16)}/${propsBytes}`,
    );
  }
  const spelled = chain.join(',');
  if (spelled === 'lzma2') return false;
  if (spelled === 'x86,lzma2') return true;
  throw blobDecodeError(
    'xz',
    `block at ${at} has filter chain [${spelled}] (id/property bytes): expected [lzma2] or [x86 (no start offset), lzma2]`,
  );
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

function readU32(data: Uint8Array, at: number): number {
  return ((data[at] ?? 0) | ((data[at + 1] ?? 0) << 8) | ((data[at + 2] ?? 0) << 16)) + (data[at + 3] ?? 0) * 2 ** 24;
}
