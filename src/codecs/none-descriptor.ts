// The identity codec's shared facts: blobs are the raw bytes (wire id 0, single level 0), and
// decoding needs nothing beyond the caller's buffers.

import { CodecWireId, type CodecDescriptor } from './codec-descriptor.js';
import { CODEC_LEVELS } from './codec-levels.js';

/** none (wire id 0): stores bytes as they are. */
export const NONE_CODEC: CodecDescriptor = {
  name: 'none',
  wireId: CodecWireId.none,
  ...CODEC_LEVELS.none,
  /** Nothing beyond the caller's own buffers: bytes stream straight through. */
  decoderMemoryBytes: () => 0,
};
