// fullPlanView: the new image of an already prepared delta, planned as a full package (no old
// image), without hashing it again — compare's "best full package" baseline in delta mode.

import { CHUNK_BYTES, type PreparedImages } from '../pipeline/prepared-images.js';
import { planBlocks } from '../planner/plan-blocks.js';

/**
 * A PreparedImages for a full package of `prepared`'s new image: the same digests, planned
 * without an old image with the chunking PreparedImages.prepare uses. Closing it closes nothing
 * (the images belong to `prepared`).
 */
export function fullPlanView(prepared: PreparedImages, maxRunBytes: number): PreparedImages {
  const bs = prepared.blockSizeBytes;
  const chunkBlocks = Math.max(1, Math.floor(Math.min(CHUNK_BYTES, maxRunBytes) / bs));
  const items = planBlocks(prepared.newDigests, undefined, { maxRunBlocks: Math.floor(maxRunBytes / bs), chunkBlocks, maxSourceBlocks: 4 * chunkBlocks });
  const view: PreparedImages = {
    next: prepared.next,
    old: undefined,
    newDigests: prepared.newDigests,
    oldDigests: undefined,
    items,
    blockSizeBytes: bs,
    identity: (which, version) => (which === 'target' ? prepared.identity('target', version) : undefined),
    summary: (which) => (which === 'target' ? prepared.summary('target') : undefined),
    close: async () => undefined,
  };
  return view;
}
