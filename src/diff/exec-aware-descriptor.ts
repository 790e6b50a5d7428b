// exec-aware's shared facts: wire id 6 (our own layout, FORMAT.md §4) and the patcher's memory.

import { DifferWireId, type DifferDescriptor } from './differ-descriptor.js';
import { execAwareApplyBytes } from './exec-aware-patch.js';

/** exec-aware (wire id 6). */
export const EXEC_AWARE_DIFFER: DifferDescriptor = {
  name: 'exec-aware',
  wireId: DifferWireId['exec-aware'],
  /** The transformed source copy plus bsdiff-lzma's apply (execAwareApplyBytes). */
  decoderMemoryBytes: (sourceBytes, targetBytes) => execAwareApplyBytes(sourceBytes, targetBytes),
};
