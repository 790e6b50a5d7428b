// Decodes a one-block xz stream whose chain is [ARM64 BCJ, LZMA2], which liblzma 5.2 cannot:
// checks the container's CRC32s, hands the block's LZMA2 data to liblzma as a check-less
// [LZMA2] stream (same memory limit and output cap as any xz blob), undoes the ARM64 filter
// and verifies the stream's own check over the result.

import { createHash } from 'node:crypto';
import { arm64BcjDecode } from './arm64-bcj.js';
import { decodeCapped, evenSlices } from './lzma-capped-decode.js';
import { blobDecodeError } from './codec-errors.js';
import { lzmaInputSliceBytes, xzStreamDecoder } from './raw-lzma2.js';
import { crc32 } from '../hashing/crc32.js';
import { crc64Bytes } from './xz-checksums.js';
import { writeXzStream } from './xz-container.js';
import { FILTER_LZMA2, readU32, type XzStreamLayout } from './xz-filter-chain.js';

/**
 * Decodes `data` (laid out as `layout`, one ARM64 block) into exactly `expectedSizeBytes` with
 * liblzma's memory limit at `memlimitBytes` (in `into` when given, see decodeOutput). Throws
 * BLOB_DECODE_FAILED on any mismatch. Memory: a copy of the compressed block, the output and the
 * LZMA2 decoder.
 */
export async function decodeXzArm64(
  data: Uint8Array,
  layout: XzStreamLayout,
  expectedSizeBytes: number,
  memlimitBytes: number,
  into?: Buffer,
): Promise<Buffer> {
  const block = layout.blocks[0];
  if (block === undefined || layout.blocks.length !== 1)
    throw blobDecodeError('xz', 'ARM64 stream must have exactly one block');
  if (block.uncompressedBytes !== expectedSizeBytes)
    throw blobDecodeError('xz', `index says ${block.uncompressedBytes} bytes, declared ${expectedSizeBytes}`);
  checkCrcs(data, layout.indexAt);
  const dataAt = block.headerAt + block.headerBytes;
  const compressedBytes = block.unpaddedBytes - block.headerBytes - layout.checkBytes;
  const checkAt = dataAt + compressedBytes + ((4 - (compressedBytes % 4)) % 4);
  if (
    checkAt + layout.checkBytes !== layout.indexAt ||
    data.subarray(dataAt + compressedBytes, checkAt).some((b) => b !== 0)
  )
    throw blobDecodeError('xz', `block padding before the check at ${checkAt} is not zero or misplaced`);
  const plain = writeXzStream({
    checkId: 0,
    filters: [{ id: FILTER_LZMA2, properties: Uint8Array.of(block.lzma2Property) }],
    compressed: data.subarray(dataAt, dataAt + compressedBytes),
    uncompressedBytes: expectedSizeBytes,
    check: new Uint8Array(0),
  });
  const output = decodeCapped(
    'xz',
    xzStreamDecoder(memlimitBytes),
    plain,
    expectedSizeBytes,
    evenSlices(plain.length, lzmaInputSliceBytes(expectedSizeBytes)),
    into,
  );
  arm64BcjDecode(output);
  const stored = data.subarray(checkAt, checkAt + layout.checkBytes);
  if (!checkOf(layout.checkId, output).equals(stored))
    throw blobDecodeError('xz', `integrity check (id ${layout.checkId}) of the decoded data does not match`);
  return output;
}

/** Stream header, index and stream footer CRC32s (xz file format §2.1.1.3, §4.6, §2.1.2.1). */
function checkCrcs(data: Uint8Array, indexAt: number): void {
  const footer = data.length - 12;
  const sums: [string, number, number, number][] = [
    ['stream header', 6, 8, 8],
    ['index', indexAt, footer - 4, footer - 4],
    ['stream footer', footer + 4, footer + 10, footer],
  ];
  for (const [what, from, to, at] of sums) {
    if (crc32(data.subarray(from, to)) !== readU32(data, at)) throw blobDecodeError('xz', `${what} CRC32 mismatch`);
  }
  // The footer repeats the header's stream flags (§2.1.2.3).
  if (data[6] !== data[footer + 8] || data[7] !== data[footer + 9])
    throw blobDecodeError('xz', 'stream footer flags differ from the header');
}

/** The check field of check id `checkId` over `output`. */
function checkOf(checkId: number, output: Uint8Array): Buffer {
  if (checkId === 0x01) {
    const out = Buffer.alloc(4);
    out.writeUInt32LE(crc32(output), 0);
    return out;
  }
  if (checkId === 0x04) return crc64Bytes(output);
  return createHash('sha256').update(output).digest();
}
