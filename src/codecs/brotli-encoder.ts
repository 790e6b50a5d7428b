// Brotli encoder through Node's bundled zlib, with the window fitted to the input.

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { BROTLI_CODEC, brotliWindowLog } from './brotli-descriptor.js';
import { assertLevel } from './codec-errors.js';
import type { Encoder } from './encoder.js';

const brotliCompressAsync = promisify(zlib.brotliCompress);

/** Brotli (wire id 2), qualities 0..11, default 9. */
export class BrotliEncoder implements Encoder {
  readonly name = BROTLI_CODEC.name;
  readonly wireId = BROTLI_CODEC.wireId;
  readonly minLevel = BROTLI_CODEC.minLevel;
  readonly maxLevel = BROTLI_CODEC.maxLevel;
  readonly defaultLevel = BROTLI_CODEC.defaultLevel;
  readonly decoderMemoryBytes = BROTLI_CODEC.decoderMemoryBytes;
  /**
   * Slow; third after xz and zstd on firmware data, but on full-image 4 MiB chunks of JS text
   * (its static dictionary and context modelling) it beat xz -9 by 3-12 %.
   */
  readonly traits = { speedClass: 'slow', probeOrder: 2, suitedContent: ['text'] } as const;

  /**
   * Compresses with quality `level`, a window fitted to the input and the input size as a hint.
   * Memory: a few times the window (quality 10-11: about 10x).
   */
  async encode(data: Uint8Array, level: number): Promise<Buffer> {
    assertLevel(this.name, level, this.minLevel, this.maxLevel);
    return brotliCompressAsync(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: level,
        [zlib.constants.BROTLI_PARAM_LGWIN]: brotliWindowLog(data.length, level),
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_GENERIC,
      },
    });
  }
}
