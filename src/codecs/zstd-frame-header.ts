// Parser for the header of one Zstandard frame (RFC 8878 §3.1.1). Pure: reads bytes, allocates
// nothing, and lets the decoder check the declared content size, window, dictionary and
// checksum flag before any output buffer exists. Does not decode blocks.

import { hexBytes } from '../errors/ota-error.js';
import { blobDecodeError } from './codec-errors.js';

/** Magic number that opens every Zstandard frame, read little-endian. */
export const ZSTD_FRAME_MAGIC = 0xfd2fb528;

/** What a Zstandard frame header declares. */
export interface ZstdFrameHeader {
  /** Bytes taken by magic, descriptor, window, dictionary id and content size fields. */
  readonly headerSizeBytes: number;
  /** Declared decompressed size, or undefined when the frame does not state it. */
  readonly contentSizeBytes: number | undefined;
  /** History the decoder must keep (the content size for single-segment frames). */
  readonly windowSizeBytes: number;
  /** Dictionary id, 0 when absent or raw-content. */
  readonly dictionaryId: number;
  /** True when an XXH64 content checksum follows the last block. */
  readonly hasChecksum: boolean;
  /** True when the frame is decoded in one segment (window = content size). */
  readonly singleSegment: boolean;
}

const DICT_ID_FIELD_BYTES = [0, 1, 2, 4] as const;
const CONTENT_SIZE_FIELD_BYTES = [0, 2, 4, 8] as const;

/**
 * Reads the frame header at the start of `frame`. Throws PackageFormatError
 * (`BLOB_DECODE_FAILED`) on a wrong magic (including skippable frames), a set reserved bit,
 * a truncated header, or a content size beyond 2^53.
 */
export function parseZstdFrameHeader(what: string, frame: Uint8Array): ZstdFrameHeader {
  if (frame.length < 5) throw blobDecodeError(what, `frame is ${frame.length} bytes, too short for a header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== ZSTD_FRAME_MAGIC) {
    throw blobDecodeError(what, `bad magic at offset 0: expected 28 b5 2f fd, got ${hexBytes(frame.subarray(0, 4))}`);
  }
  const descriptor = view.getUint8(4);
  const contentSizeFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const hasChecksum = (descriptor & 0x04) !== 0;
  if ((descriptor & 0x08) !== 0) throw blobDecodeError(what, 'reserved bit set in the frame header descriptor');

  const windowFieldBytes = singleSegment ? 0 : 1;
  const dictFieldBytes = DICT_ID_FIELD_BYTES[descriptor & 0x03] ?? 0;
  const contentFieldBytes =
    contentSizeFlag === 0 && singleSegment ? 1 : (CONTENT_SIZE_FIELD_BYTES[contentSizeFlag] ?? 0);
  const headerSizeBytes = 5 + windowFieldBytes + dictFieldBytes + contentFieldBytes;
  if (frame.length < headerSizeBytes) {
    throw blobDecodeError(what, `frame is ${frame.length} bytes, header needs ${headerSizeBytes}`);
  }

  let offset = 5;
  let windowSizeBytes = 0;
  if (!singleSegment) {
    const windowDescriptor = view.getUint8(offset);
    const windowLog = 10 + (windowDescriptor >> 3);
    const windowBase = 2 ** windowLog;
    windowSizeBytes = windowBase + (windowBase / 8) * (windowDescriptor & 0x07);
    offset += 1;
  }

  let dictionaryId = 0;
  if (dictFieldBytes === 1) dictionaryId = view.getUint8(offset);
  else if (dictFieldBytes === 2) dictionaryId = view.getUint16(offset, true);
  else if (dictFieldBytes === 4) dictionaryId = view.getUint32(offset, true);
  offset += dictFieldBytes;

  let contentSizeBytes: number | undefined;
  if (contentFieldBytes === 1) contentSizeBytes = view.getUint8(offset);
  else if (contentFieldBytes === 2) contentSizeBytes = view.getUint16(offset, true) + 256;
  else if (contentFieldBytes === 4) contentSizeBytes = view.getUint32(offset, true);
  else if (contentFieldBytes === 8) {
    const size = view.getBigUint64(offset, true);
    if (size > BigInt(Number.MAX_SAFE_INTEGER))
      throw blobDecodeError(what, `declared content size ${size} is too large`);
    contentSizeBytes = Number(size);
  }
  if (singleSegment) windowSizeBytes = contentSizeBytes ?? 0;

  return { headerSizeBytes, contentSizeBytes, windowSizeBytes, dictionaryId, hasChecksum, singleSegment };
}
