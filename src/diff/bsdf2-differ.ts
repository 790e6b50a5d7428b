// The bsdf2 differ: bsdiff's patch re-packed as Android's BSDF2 (the format update_engine's
// BROTLI_BSDIFF operation applies), with the control and extra blocks recompressed by brotli
// when that is smaller (it usually is: 20-35 % on firmware chunks) and the diff block left in
// bzip2 (its BWT beats brotli and xz on bsdiff's mostly-zero byte differences). Never larger
// than the bsdiff patch it comes from. Layout and decoding live in bsdf2-patch.ts.

import zlib from 'node:zlib';
import { brotliWindowLog } from '../codecs/brotli-descriptor.js';
import { makeBsdiff40 } from './bsdiff-differ.js';
import { BSDIFF_HEADER_BYTES, maxControlBytes, parseBsdiffHeader } from './bsdiff-patch.js';
import { BSDF2_DIFFER } from './bsdf2-descriptor.js';
import { Bsdf2Compressor, writeBsdf2, type Bsdf2Block } from './bsdf2-patch.js';
import { decodeBzip2 } from './bzip2-stream.js';
import type { Differ } from './differ.js';

/**
 * Blocks up to this size get brotli quality 11; larger ones quality 9. On 1 MiB of firmware,
 * 11 takes 2-5 s for ~0.5 % less than 9's 0.1 s; the small control and extra blocks of a
 * typical patch gain 5-10 % from 11 at a few ms each.
 */
const QUALITY_11_MAX_BYTES = 128 * 1024;

/** bsdf2 (wire id 3): BSDF2 patches, bzip2 or brotli per block. */
export class Bsdf2Differ implements Differ {
  readonly name = BSDF2_DIFFER.name;
  readonly wireId = BSDF2_DIFFER.wireId;
  readonly decoderMemoryBytes = BSDF2_DIFFER.decoderMemoryBytes;
  /** Re-packs bsdiff's suffix-sort patch: as slow as bsdiff (whose patch it shares). */
  readonly traits = { tier: 'fallback', slowOnZeroRuns: true } as const;

  /**
   * Makes bsdiff's BSDIFF40 patch (shared with the bsdiff differ when both are tried on the same
   * chunk), decodes its control and extra blocks and keeps, for each, the smaller of bzip2 and
   * brotli (ties keep bzip2). Deterministic. Memory: bsdiff's, plus the decoded control and extra
   * blocks and a brotli encoder whose window is at most the target size.
   */
  async diff(source: Uint8Array, target: Uint8Array): Promise<Buffer> {
    const bsdiff = await makeBsdiff40(source, target);
    const header = parseBsdiffHeader(bsdiff, target.length);
    const diffStart = BSDIFF_HEADER_BYTES + header.ctrlSizeBytes;
    const extraStart = diffStart + header.diffSizeBytes;
    const ctrl = smaller(
      bsdiff.subarray(BSDIFF_HEADER_BYTES, diffStart),
      maxControlBytes(target.length),
      target.length,
    );
    const diff: Bsdf2Block = { compressor: Bsdf2Compressor.bzip2, bytes: bsdiff.subarray(diffStart, extraStart) };
    const extra = smaller(bsdiff.subarray(extraStart), target.length, target.length);
    return writeBsdf2(ctrl, diff, extra, target.length);
  }
}

/** The smaller of a bzip2 block as bsdiff wrote it and the same bytes recompressed with brotli. */
function smaller(bzip2: Uint8Array, maxDecodedBytes: number, targetBytes: number): Bsdf2Block {
  const decoded = decodeBzip2(bzip2, maxDecodedBytes).output;
  const brotli = zlib.brotliCompressSync(decoded, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: decoded.length <= QUALITY_11_MAX_BYTES ? 11 : 9,
      [zlib.constants.BROTLI_PARAM_LGWIN]: brotliWindowLog(Math.min(decoded.length, Math.max(1, targetBytes))),
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: decoded.length,
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_GENERIC,
    },
  });
  return brotli.length < bzip2.length
    ? { compressor: Bsdf2Compressor.brotli, bytes: brotli }
    : { compressor: Bsdf2Compressor.bzip2, bytes: bzip2 };
}
