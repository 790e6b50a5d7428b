// The BSDF2 patch layout (Android's bsdiff, as update_engine's BROTLI_BSDIFF operation reads it):
// BSDIFF40's control/diff/extra blocks, each compressed with bzip2 or brotli as its header says.
// Owns the header and the per-block decoding with caps; the control walk is bsdiff-patch.ts's.
// Pure: no files, no native code beyond Node's brotli.
//
//   offset 0   5  "BSDF2"
//          5   1  compressor of the control block (1 = bzip2, 2 = brotli)
//          6   1  compressor of the diff block
//          7   1  compressor of the extra block
//          8   8  X = compressed length of the control block   (64-bit sign-magnitude LE, as BSDIFF40)
//         16   8  Y = compressed length of the diff block
//         24   8  size of the new file
//         32   X  control block: triples (add x bytes of diff+old, copy y bytes of extra, seek old by z)
//       32+X   Y  diff block
//     32+X+Y   …  extra block

import zlib from 'node:zlib';
import { blobDecodeError, describeCause } from '../codecs/codec-errors.js';
import { hexBytes } from '../errors/ota-error.js';
import { applyBsdiffStreams, blockCaps, BSDIFF_HEADER_BYTES, readBsdiffLengths, writeOfft } from './bsdiff-patch.js';
import { decodeBzip2 } from './bzip2-stream.js';

const WHAT = 'bsdf2';
/** The 5 magic bytes. */
export const BSDF2_MAGIC = 'BSDF2';
/** Compressor ids of the three blocks (Android bsdiff's CompressorType; 0, none, is not accepted by its reader). */
export const Bsdf2Compressor = { bzip2: 1, brotli: 2 } as const;
export type Bsdf2CompressorId = (typeof Bsdf2Compressor)[keyof typeof Bsdf2Compressor];

/** One block of a patch being written: its compressor and compressed bytes. */
export interface Bsdf2Block {
  readonly compressor: Bsdf2CompressorId;
  readonly bytes: Uint8Array;
}

/** Writes a BSDF2 patch from three compressed blocks. */
export function writeBsdf2(ctrl: Bsdf2Block, diff: Bsdf2Block, extra: Bsdf2Block, newSizeBytes: number): Buffer {
  const header = Buffer.alloc(BSDIFF_HEADER_BYTES);
  header.write(BSDF2_MAGIC, 0, 'latin1');
  header[5] = ctrl.compressor;
  header[6] = diff.compressor;
  header[7] = extra.compressor;
  writeOfft(header, 8, ctrl.bytes.length);
  writeOfft(header, 16, diff.bytes.length);
  writeOfft(header, 24, newSizeBytes);
  return Buffer.concat([header, ctrl.bytes, diff.bytes, extra.bytes]);
}

/**
 * Applies a BSDF2 patch to `source` and returns exactly `expectedSizeBytes` bytes. The header is
 * checked first (magic, known compressors, lengths inside the patch, new size as expected);
 * each block is decoded with a cap (control 3 bytes per output byte + 48, diff and extra at
 * most the output size, each also at most `memoryBytes`, the op's declared decoder memory);
 * bytes after a brotli or bzip2 stream inside its block are refused. Throws PackageFormatError (`BLOB_DECODE_FAILED`) on anything corrupt,
 * truncated or hostile. Memory: source + output + decoded blocks (diff and extra ≤ output each)
 * + one decoder at a time (bzip2 3.6 MB, brotli its window ≤ 16 MiB).
 */
export function applyBsdf2Patch(
  source: Uint8Array,
  patch: Uint8Array,
  expectedSizeBytes: number,
  memoryBytes = Infinity,
): Buffer {
  if (patch.length < BSDIFF_HEADER_BYTES) throw fail(`patch is ${patch.length} bytes, shorter than the 32-byte header`);
  if (Buffer.from(patch.buffer, patch.byteOffset, 5).toString('latin1') !== BSDF2_MAGIC) {
    throw fail(`bad magic at offset 0: expected "${BSDF2_MAGIC}", got ${hexBytes(patch.subarray(0, 5))}`);
  }
  const compressors = [patch[5], patch[6], patch[7]].map((id, i) => {
    if (id !== Bsdf2Compressor.bzip2 && id !== Bsdf2Compressor.brotli)
      throw fail(`unknown compressor ${String(id)} at offset ${5 + i}`);
    return id as Bsdf2CompressorId;
  });
  const { ctrlSizeBytes, diffSizeBytes } = readBsdiffLengths(patch, expectedSizeBytes, WHAT);
  const diffStart = BSDIFF_HEADER_BYTES + ctrlSizeBytes;
  const extraStart = diffStart + diffSizeBytes;
  const [ctrlCap, blockCap] = blockCaps(expectedSizeBytes, memoryBytes);
  const ctrl = decodeBlock(compressors[0]!, patch.subarray(BSDIFF_HEADER_BYTES, diffStart), ctrlCap);
  const diff = decodeBlock(compressors[1]!, patch.subarray(diffStart, extraStart), blockCap);
  const extra = decodeBlock(compressors[2]!, patch.subarray(extraStart), blockCap);
  return applyBsdiffStreams(source, { ctrl, diff, extra }, expectedSizeBytes);
}

/** Decodes one block, never producing more than `maxOutputBytes`; the stream must fill the block. */
function decodeBlock(compressor: Bsdf2CompressorId, data: Uint8Array, maxOutputBytes: number): Buffer {
  if (compressor === Bsdf2Compressor.bzip2) return decodeBzip2(data, maxOutputBytes).output;
  if (data.length === 0) throw fail('empty brotli block');
  let decoded: { buffer: Buffer; engine: zlib.BrotliDecompress };
  try {
    // maxOutputLength stops the decoder with a RangeError as soon as the output would pass it.
    const options = { maxOutputLength: Math.max(1, maxOutputBytes), info: true } as zlib.BrotliOptions;
    decoded = zlib.brotliDecompressSync(data, options) as unknown as typeof decoded;
  } catch (error) {
    if (error instanceof RangeError) throw fail(`brotli block expands past ${maxOutputBytes} bytes`);
    throw blobDecodeError(WHAT, `corrupt brotli block: ${describeCause(error)}`, error);
  }
  if (decoded.buffer.length > maxOutputBytes) throw fail(`brotli block expands past ${maxOutputBytes} bytes`);
  // Node's decoder stops at the end of the stream and ignores what follows: FORMAT.md forbids it.
  if (decoded.engine.bytesWritten !== data.length)
    throw fail(`${data.length - decoded.engine.bytesWritten} trailing bytes after a brotli block's stream`);
  return decoded.buffer;
}

function fail(detail: string): Error {
  return blobDecodeError(WHAT, detail);
}
