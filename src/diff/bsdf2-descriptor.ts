// bsdf2's shared facts: wire id 3 (Android's BSDF2, bzip2 or brotli per block) and a streaming
// patcher's memory on the device.

import { BROTLI_DECODER_STATE_BYTES, brotliWindowLog } from '../codecs/brotli-descriptor.js';
import { BZIP2_DECODER_BYTES } from './bsdiff-descriptor.js';
import { DifferWireId, type DifferDescriptor } from './differ-descriptor.js';

/** bsdf2 (wire id 3): BSDF2 patches, bzip2 or brotli per block. */
export const BSDF2_DIFFER: DifferDescriptor = {
  name: 'bsdf2',
  wireId: DifferWireId.bsdf2,
  /**
   * A streaming patcher holds the old and new data, one bzip2 decoder (diff block) and up to
   * two brotli decoders (control and extra) whose windows our encoder keeps ≤ the target size.
   */
  decoderMemoryBytes: (sourceBytes, targetBytes) =>
    sourceBytes +
    targetBytes +
    BZIP2_DECODER_BYTES +
    2 * (2 ** brotliWindowLog(targetBytes) + BROTLI_DECODER_STATE_BYTES),
};
