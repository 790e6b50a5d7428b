// LZMA2 through lzma-native: raw streams (no .xz container) for formats that frame and hash
// their own data, such as the bsdiff-lzma differ's blocks, and the stream plumbing the xz codec
// shares (encoder collection, decode slicing, decoder state size). Owns the tuning knobs and the
// bounded raw decoder; the dictionary size is the only thing a raw decoder must be told, so
// callers store its log next to the stream.

import type lzmaModule from 'lzma-native';
import type { NativeCoder } from 'lzma-native';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { isMainThread } from 'node:worker_threads';
import { decodeCapped, decodeCappedOnPool } from './lzma-capped-decode.js';
import { scanLzma2Chunks } from './lzma2-chunk-scan.js';
import { nativeWork } from './native-work.js';
import { assertExpectedSize, blobDecodeError, describeCause } from './codec-errors.js';
import { windowLogFor } from './window-log.js';

let loaded: typeof lzmaModule | undefined;

/**
 * lzma-native, loaded on first use (its native addon and stream classes cost start-up time an
 * apply whose ops use no LZMA never needs to pay).
 */
export function lzmaNative(): typeof lzmaModule {
  return (loaded ??= createRequire(import.meta.url)('lzma-native') as typeof lzmaModule);
}

/** LZMA2 decoder state beyond the dictionary: lzma_raw_decoder_memusage(dict) - dict in liblzma 5.2. */
export const LZMA2_DECODER_STATE_BYTES = 65_584;
/** LZMA2 expands at most ~7,000x (1 GiB of zeros -> 153 KiB); rounded up for the slicing. */
const MAX_EXPANSION_RATIO = 8192;
/**
 * lzma-native decodes a whole input slice before returning, so one slice may expand to
 * slice x ~7,000 bytes inside liblzma before the cap is seen. Slices are sized so that this is
 * at most max(expected, 4 MiB); smaller slices (below 512 B) cost more time than they save.
 */
const SLICE_OVERSHOOT_BYTES = 4 * 1024 * 1024;

/** liblzma's smallest dictionary (4 KiB) and the largest a package may ask a device for (256 MiB). */
export const LZMA2_MIN_DICT_LOG = 12;
export const LZMA2_MAX_DICT_LOG = 28;

/** Literal-context and position bits (liblzma's lc/lp/pb) for one kind of data. */
export interface Lzma2Tuning {
  readonly lc: number;
  readonly lp: number;
  readonly pb: number;
  /**
   * liblzma's fast mode with preset 3's match finder (HC4, nice length 273, depth 48) instead of
   * normal mode with BT4: ~3x faster on text for ~15 % more bytes. The stream format is the same.
   */
  readonly quick?: boolean;
}

/** Input slice for a capped LZMA2 decode of `expectedSizeBytes` (see SLICE_OVERSHOOT_BYTES). */
export function lzmaInputSliceBytes(expectedSizeBytes: number): number {
  return Math.min(
    64 * 1024,
    Math.max(512, Math.floor(Math.max(expectedSizeBytes, SLICE_OVERSHOOT_BYTES) / MAX_EXPANSION_RATIO)),
  );
}

/**
 * Writes all of `data` to an lzma-native encoder stream and concatenates what comes out; in
 * flight (nativeWork) until the stream ends or fails.
 */
export function encodeThrough(stream: Duplex, data: Uint8Array, what: string): Promise<Buffer> {
  return nativeWork(
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: unknown) =>
        reject(new Error(`${what} encoder failed: ${describeCause(error)}`, { cause: error })),
      );
      stream.on('end', () => resolve(Buffer.concat(chunks)));
      stream.end(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }),
  );
}

/** The smallest dictionary log that holds a stream of `sizeBytes` (12..28). */
export function lzma2DictLogFor(sizeBytes: number): number {
  return windowLogFor(sizeBytes, LZMA2_MIN_DICT_LOG, LZMA2_MAX_DICT_LOG);
}

/**
 * Compresses `data` as one raw LZMA2 stream with xz preset 6's match finder (BT4, nice length 64,
 * normal mode), `tuning` and a 2^dictLog dictionary (12..28). Deterministic. Runs in the libuv
 * pool. Memory: about 10 x the dictionary.
 */
export function encodeRawLzma2(data: Uint8Array, tuning: Lzma2Tuning, dictLog: number): Promise<Buffer> {
  const encoder = lzmaNative().createStream('rawEncoder', {
    filters: [
      {
        id: lzmaNative().FILTER_LZMA2,
        options: {
          dictSize: 2 ** Math.max(LZMA2_MIN_DICT_LOG, Math.min(LZMA2_MAX_DICT_LOG, dictLog)),
          lc: tuning.lc,
          lp: tuning.lp,
          pb: tuning.pb,
          ...(tuning.quick === true
            ? { mode: lzmaNative().MODE_FAST, mf: lzmaNative().MF_HC4, niceLen: 273, depth: 48 }
            : { mode: lzmaNative().MODE_NORMAL, mf: lzmaNative().MF_BT4, niceLen: 64, depth: 0 }),
        },
      },
    ],
  });
  return encodeThrough(encoder, data, 'lzma2');
}

/**
 * A raw LZMA2 decode's input is fed in slices of whole chunks (of at most 2 MiB decoded, 64 KiB
 * encoded each) that end once they reach this many decoded or encoded bytes: what lzma-native
 * holds before the output is copied out, against one call (a pool round trip) per slice.
 */
const RAW_SLICE_BYTES = 1024 * 1024;

/**
 * Decodes a raw LZMA2 stream made with a 2^dictLog dictionary into exactly `expectedSizeBytes`:
 * on the main thread, on the libuv pool (the main thread meanwhile runs the applier's other work:
 * writes, reads, an inline hash); on a worker thread (the build's self-check in its encode
 * workers), on that thread itself, where it waits behind no encoder's pool work (a build with
 * in-process plugins self-checks on the main thread, so on the pool). Refuses a dictionary log outside 12..28 or
 * larger than the output needs (a device must not be made to allocate more than the data), and a
 * stream whose chunk headers do not add up to the output (scanLzma2Chunks), before decoding;
 * then decodes with the output capped, chunk slice by chunk slice, into `into` when given
 * (exactly `expectedSizeBytes` long). Throws PackageFormatError (`BLOB_DECODE_FAILED`, labelled `what`).
 */
export async function decodeRawLzma2(
  what: string,
  data: Uint8Array,
  dictLog: number,
  expectedSizeBytes: number,
  into?: Buffer,
): Promise<Buffer> {
  assertExpectedSize(what, expectedSizeBytes);
  if (!Number.isInteger(dictLog) || dictLog < LZMA2_MIN_DICT_LOG || dictLog > lzma2DictLogFor(expectedSizeBytes)) {
    throw blobDecodeError(
      what,
      `LZMA2 dictionary log ${dictLog} is outside ${LZMA2_MIN_DICT_LOG}..${lzma2DictLogFor(expectedSizeBytes)} for ${expectedSizeBytes} bytes`,
    );
  }
  const { inputEnds } = scanLzma2Chunks(what, data, expectedSizeBytes, RAW_SLICE_BYTES);
  const coder = new (lzmaNative().Stream)();
  coder.rawDecoder({ filters: [{ id: lzmaNative().FILTER_LZMA2, options: { dictSize: 2 ** dictLog } }] });
  return isMainThread
    ? decodeCappedOnPool(what, coder, data, expectedSizeBytes, inputEnds, into)
    : decodeCapped(what, coder, data, expectedSizeBytes, inputEnds, into);
}

/** Decoder memory for a stream of `sizeBytes`: its dictionary plus liblzma's state. */
export function rawLzma2DecoderBytes(sizeBytes: number): number {
  return 2 ** lzma2DictLogFor(sizeBytes) + LZMA2_DECODER_STATE_BYTES;
}

/** A decoder of one .xz stream that needs at most `memlimitBytes` (liblzma refuses more). */
export function xzStreamDecoder(memlimitBytes: number): NativeCoder {
  const coder = new (lzmaNative().Stream)();
  coder.streamDecoder({ memlimit: memlimitBytes });
  return coder;
}
