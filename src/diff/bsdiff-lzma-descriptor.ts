// bsdiff-lzma's shared facts: wire id 4 (our own layout, FORMAT.md §6) and the patcher's memory.

import { bsdiffLzmaApplyBytes } from './bsdiff-lzma-patch.js';
import { DifferWireId, type DifferDescriptor } from './differ-descriptor.js';

/** bsdiff-lzma (wire id 4). */
export const BSDIFF_LZMA_DIFFER: DifferDescriptor = {
  name: 'bsdiff-lzma',
  wireId: DifferWireId['bsdiff-lzma'],
  /** Source, output, expanded diff, the decoded blocks and one LZMA2 dictionary (bsdiffLzmaApplyBytes). */
  decoderMemoryBytes: (sourceBytes, targetBytes) => bsdiffLzmaApplyBytes(sourceBytes, targetBytes),
};
