// ChunkEncoder: what turns one planned chunk (an EncodeTask) into its encoded candidates.
// encodePlan and producePackages take one; the build's EncodePool (worker threads) and
// compare's CachingEncoder (candidates shared between runs) implement it.

import type { EncodedCandidate } from '../planner/candidates.js';
import type { EncodeTask } from './encode-task.js';

/** Encodes planned chunks into candidates, `jobs` tasks at a time. */
export interface ChunkEncoder {
  /** How many tasks it works on at once; encodePlan keeps a small multiple of this many chunks in flight. */
  readonly jobs: number;
  /** The candidates encodeChunk(task) gives, in the task's spec order. */
  encode(task: EncodeTask): Promise<EncodedCandidate[]>;
}
