// bsdiff's shared facts: wire id 1 (BSDIFF40, as `bsdiff` 4.3 makes it) and a streaming
// bspatch's memory on the device.

import { DifferWireId, type DifferDescriptor } from './differ-descriptor.js';

/**
 * Memory of one bzip2 decompressor for a `-9` stream in libbzip2's default (fast) mode:
 * 4 bytes per byte of the 900 kB block plus ~64 kB of tables.
 */
export const BZIP2_DECODER_BYTES = 4 * 900_000 + 64 * 1024;

/** bsdiff (wire id 1): Colin Percival's BSDIFF40 format. */
export const BSDIFF_DIFFER: DifferDescriptor = {
  name: 'bsdiff',
  wireId: DifferWireId.bsdiff,
  /**
   * A streaming bspatch on the device holds the old and new images and three bzip2
   * decompressors (control, diff, extra; `-9`: ~3.7 MB each), so source + target + ~11 MB.
   * (Our in-memory patcher also holds the decoded diff and extra blocks, up to 2 x target more.)
   */
  decoderMemoryBytes: (sourceBytes, targetBytes) => sourceBytes + targetBytes + 3 * BZIP2_DECODER_BYTES,
};
