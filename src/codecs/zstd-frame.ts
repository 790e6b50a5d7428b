// One checked Zstandard frame, shared by the zstd codec and the zstd-dict differ: encoding with
// fixed, deterministic parameters, and decoding that never allocates more than the declared
// size. Owns the dictionary-loading rule and the memory estimate; knows nothing of packages.

import type bindingModule from 'zstd-napi/binding.js';
import { createRequire } from 'node:module';
import { blobDecodeError, describeCause } from './codec-errors.js';
import { decodeOutput } from './decode-output.js';
import { parseZstdFrameHeader } from './zstd-frame-header.js';

/**
 * Largest window log we emit or accept: 128 MiB, the default limit of `zstd -d`, so our frames
 * never need `--long` or `--memory` to decode with the CLI.
 */
export const ZSTD_MAX_WINDOW_LOG = 27;
/** Smallest window log the format allows. */
export const ZSTD_MIN_WINDOW_LOG = 10;

/** First bytes of a zstd-format dictionary (ZSTD_MAGIC_DICTIONARY, little-endian 0xEC30A437). */
const DICTIONARY_MAGIC = [0x37, 0xa4, 0x30, 0xec] as const;
/** Largest zstd block (ZSTD_BLOCKSIZE_MAX). */
const MAX_BLOCK_BYTES = 128 * 1024;
/** sizeof(ZSTD_DCtx) in zstd 1.5 (~95 KiB: entropy tables and the 64 KiB literal buffer), rounded up. */
const DCTX_BYTES = 96 * 1024;

// One context of each kind per thread, reset before every use. A context per call would leave
// its native tables (tens of MiB at level 19) to the garbage collector, which does not see them:
// memory then grows with the number of chunks instead of staying bounded.
let loaded: typeof bindingModule | undefined;

/** zstd-napi's native binding, loaded on first use (start-up time an apply without zstd never pays). */
function zstd(): typeof bindingModule {
  return (loaded ??= createRequire(import.meta.url)('zstd-napi/binding.js') as typeof bindingModule);
}

let cctx: InstanceType<typeof bindingModule.CCtx> | undefined;
let dctx: InstanceType<typeof bindingModule.DCtx> | undefined;

function reusedCCtx(): InstanceType<typeof bindingModule.CCtx> {
  cctx ??= new (zstd().CCtx)();
  cctx.reset(zstd().ResetDirective.sessionAndParameters);
  return cctx;
}

function reusedDCtx(): InstanceType<typeof bindingModule.DCtx> {
  dctx ??= new (zstd().DCtx)();
  dctx.reset(zstd().ResetDirective.sessionAndParameters);
  return dctx;
}

/** Parameters of one frame. */
export interface ZstdFrameOptions {
  /** Compression level (1..22). */
  readonly level: number;
  /** Window log, ZSTD_MIN_WINDOW_LOG..ZSTD_MAX_WINDOW_LOG. */
  readonly windowLog: number;
  /** Raw-content dictionary (the diff source), if any. */
  readonly dictionary?: Uint8Array;
}

/**
 * The bytes zstd is given as a raw-content dictionary for `source`. zstd-napi only offers
 * "auto" dictionary loading, which would parse a source that starts with the zstd dictionary
 * magic as a trained dictionary. Such a source loses its first byte instead: match offsets
 * count back from the end of the dictionary, so the frame is the same one any raw-content
 * decoder given the whole source (`zstd -d --patch-from=src`) reads, and the first byte is
 * simply never referenced. Both encoder and decoder apply this rule.
 */
export function zstdDictionaryView(source: Uint8Array): Uint8Array {
  const startsWithMagic = source.length >= 4 && DICTIONARY_MAGIC.every((b, i) => source[i] === b);
  return startsWithMagic ? source.subarray(1) : source;
}

/**
 * Compresses `data` into one frame with content size, XXH64 checksum, no dictionary id, one
 * thread (so output depends only on input, level and window). Synchronous native call: run it
 * off the main thread for large inputs. Memory: roughly 10x the window at level 19.
 */
export function encodeZstdFrame(data: Uint8Array, options: ZstdFrameOptions): Buffer {
  const cctx = reusedCCtx();
  cctx.setParameter(zstd().CParameter.compressionLevel, options.level);
  cctx.setParameter(zstd().CParameter.windowLog, options.windowLog);
  cctx.setParameter(zstd().CParameter.checksumFlag, 1);
  cctx.setParameter(zstd().CParameter.contentSizeFlag, 1);
  cctx.setParameter(zstd().CParameter.dictIDFlag, 0);
  if (options.dictionary !== undefined) cctx.loadDictionary(zstdDictionaryView(options.dictionary));
  const scratch = Buffer.allocUnsafe(zstd().compressBound(data.length));
  const sizeBytes = cctx.compress2(scratch, data);
  return Buffer.from(scratch.subarray(0, sizeBytes));
}

/**
 * Decodes the single frame `frame` into exactly `expectedSizeBytes`. Before allocating it
 * checks the header: content size declared and equal to `expectedSizeBytes`, checksum present,
 * no dictionary id, window within 2^27, and exactly one frame with no trailing bytes. The
 * output buffer (`into` when given, see decodeOutput) is then exactly the declared size and zstd
 * cannot write past it.
 * Throws PackageFormatError (`BLOB_DECODE_FAILED`) on any mismatch or corrupt data.
 */
export function decodeZstdFrame(
  what: string,
  frame: Uint8Array,
  expectedSizeBytes: number,
  dictionary?: Uint8Array,
  into?: Buffer,
): Buffer {
  const header = parseZstdFrameHeader(what, frame);
  if (header.contentSizeBytes === undefined) throw blobDecodeError(what, 'frame does not declare its content size');
  if (header.contentSizeBytes !== expectedSizeBytes) {
    throw blobDecodeError(what, `frame declares ${header.contentSizeBytes} bytes, expected ${expectedSizeBytes}`);
  }
  if (!header.hasChecksum) throw blobDecodeError(what, 'frame has no content checksum');
  if (header.dictionaryId !== 0) throw blobDecodeError(what, `frame needs dictionary id ${header.dictionaryId}`);
  if (!header.singleSegment && header.windowSizeBytes > 2 ** ZSTD_MAX_WINDOW_LOG) {
    throw blobDecodeError(what, `window of ${header.windowSizeBytes} bytes exceeds 2^${ZSTD_MAX_WINDOW_LOG}`);
  }

  let frameSizeBytes: number;
  try {
    frameSizeBytes = zstd().findFrameCompressedSize(frame);
  } catch (error) {
    throw blobDecodeError(what, `corrupt or truncated frame: ${describeCause(error)}`, error);
  }
  if (frameSizeBytes !== frame.length) {
    throw blobDecodeError(what, `${frame.length - frameSizeBytes} bytes after the end of the frame`);
  }

  const dctx = reusedDCtx();
  dctx.setParameter(zstd().DParameter.windowLogMax, ZSTD_MAX_WINDOW_LOG);
  if (dictionary !== undefined) dctx.loadDictionary(zstdDictionaryView(dictionary));
  const out = decodeOutput(expectedSizeBytes, into);
  let producedBytes: number;
  try {
    producedBytes = dctx.decompress(out, frame);
  } catch (error) {
    throw blobDecodeError(what, `corrupt frame: ${describeCause(error)}`, error);
  }
  if (producedBytes !== expectedSizeBytes) {
    throw blobDecodeError(what, `frame produced ${producedBytes} bytes, expected ${expectedSizeBytes}`);
  }
  return out;
}

/**
 * Memory a streaming zstd decoder needs for a frame with this window: the window itself, one
 * input block and one output block buffer (each at most 128 KiB), and the ~96 KiB context
 * (ZSTD_estimateDStreamSize). A one-shot decoder into a flat buffer needs only the context.
 */
export function zstdStreamingDecoderBytes(windowSizeBytes: number): number {
  return windowSizeBytes + 2 * Math.min(windowSizeBytes, MAX_BLOCK_BYTES) + DCTX_BYTES;
}
