// deflate-aware's shared facts: wire id 5 (our own layout, FORMAT.md §4) and the patcher's memory
// for a patch without deflate streams; a patch's own header states what it needs beyond that.

import { deflateAwareApplyBytes } from './deflate-aware-patch.js';
import { DifferWireId, type DifferDescriptor } from './differ-descriptor.js';

/** deflate-aware (wire id 5). */
export const DEFLATE_AWARE_DIFFER: DifferDescriptor = {
  name: 'deflate-aware',
  wireId: DifferWireId['deflate-aware'],
  /** The least a patch needs: no old streams, the expanded target the destination (deflateAwareApplyBytes). */
  decoderMemoryBytes: (sourceBytes, targetBytes) => deflateAwareApplyBytes(sourceBytes, 0, targetBytes, targetBytes),
};
