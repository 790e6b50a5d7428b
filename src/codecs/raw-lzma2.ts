// Raw LZMA2 streams (no .xz container) for formats that frame and hash their own data, such as
// the bsdiff-lzma differ's blocks. Owns the tuning knobs and the bounded decoder; the dictionary
// size is the only thing a decoder must be told, so callers store its log next to the stream.

import lzma from 'lzma-native';
import { decodeStreamCapped } from './capped-stream-decode.js';
import { assertExpectedSize, blobDecodeError } from './codec-errors.js';
import { windowLogFor } from './window-log.js';
import { encodeThrough, lzmaInputSliceBytes, LZMA2_DECODER_STATE_BYTES } from './xz-codec.js';

/** liblzma's smallest dictionary (4 KiB) and the largest a package may ask a device for (256 MiB). */
export const LZMA2_MIN_DICT_LOG = 12;
export const LZMA2_MAX_DICT_LOG = 28;

/** Literal-context and position bits (liblzma's lc/lp/pb) for one kind of data. */
export interface Lzma2Tuning {
  readonly lc: number;
  readonly lp: number;
  readonly pb: number;
}

/** The dictionary log a stream of `sizeBytes` is encoded with: the smallest that holds it. */
export function lzma2DictLogFor(sizeBytes: number): number {
  return windowLogFor(sizeBytes, LZMA2_MIN_DICT_LOG, LZMA2_MAX_DICT_LOG);
}

/**
 * Compresses `data` as one raw LZMA2 stream with xz preset 6's match finder (BT4, nice length 64,
 * normal mode) and `tuning`; the dictionary is lzma2DictLogFor(data.length). Deterministic.
 * Runs in the libuv pool. Memory: about 10 x the dictionary.
 */
export function encodeRawLzma2(data: Uint8Array, tuning: Lzma2Tuning): Promise<Buffer> {
  const encoder = lzma.createStream('rawEncoder', {
    filters: [{
      id: lzma.FILTER_LZMA2,
      options: { dictSize: 2 ** lzma2DictLogFor(data.length), lc: tuning.lc, lp: tuning.lp, pb: tuning.pb, mode: lzma.MODE_NORMAL, mf: lzma.MF_BT4, niceLen: 64, depth: 0 },
    }],
  });
  return encodeThrough(encoder, data, 'lzma2');
}

/**
 * Decodes a raw LZMA2 stream made with a 2^dictLog dictionary into exactly `expectedSizeBytes`.
 * Refuses a dictionary log outside 12..28 or larger than the output needs (a device must not be
 * made to allocate more than the data), then decodes with the output capped and the input fed
 * in small slices. Throws PackageFormatError (`BLOB_DECODE_FAILED`, labelled `what`).
 */
export function decodeRawLzma2(what: string, data: Uint8Array, dictLog: number, expectedSizeBytes: number): Promise<Buffer> {
  assertExpectedSize(what, expectedSizeBytes);
  if (!Number.isInteger(dictLog) || dictLog < LZMA2_MIN_DICT_LOG || dictLog > lzma2DictLogFor(expectedSizeBytes)) {
    throw blobDecodeError(what, `LZMA2 dictionary log ${dictLog} is outside ${LZMA2_MIN_DICT_LOG}..${lzma2DictLogFor(expectedSizeBytes)} for ${expectedSizeBytes} bytes`);
  }
  const decoder = lzma.createStream('rawDecoder', { filters: [{ id: lzma.FILTER_LZMA2, options: { dictSize: 2 ** dictLog } }], synchronous: true });
  return decodeStreamCapped(what, decoder, data, expectedSizeBytes, { inputSliceBytes: lzmaInputSliceBytes(expectedSizeBytes) });
}

/** Decoder memory for a stream of `sizeBytes`: its dictionary plus liblzma's state. */
export function rawLzma2DecoderBytes(sizeBytes: number): number {
  return 2 ** lzma2DictLogFor(sizeBytes) + LZMA2_DECODER_STATE_BYTES;
}
