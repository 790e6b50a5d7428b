// gzip's shared facts (RFC 1952, deflate): wire id 1, levels 1..9, and the inflater's memory.

import { CodecWireId, type CodecDescriptor } from './codec-descriptor.js';
import { CODEC_LEVELS } from './codec-levels.js';

/** Deflate's fixed 32 KiB history window. */
const WINDOW_BYTES = 32 * 1024;
/** zlib's inflate_state (~7.1 KiB on 64-bit), rounded up. */
const INFLATE_STATE_BYTES = 8 * 1024;

/** gzip (wire id 1), levels 1..9, default 9. */
export const GZIP_CODEC: CodecDescriptor = {
  name: 'gzip',
  wireId: CodecWireId.gzip,
  ...CODEC_LEVELS.gzip,
  /** Inflate needs its 32 KiB window plus ~8 KiB of state, whatever the level or input. */
  decoderMemoryBytes: () => WINDOW_BYTES + INFLATE_STATE_BYTES,
};
