// What the encoder is given for one changed chunk: its bytes, its source, the candidates asked
// for and what the targets need of it. Plain data, passed to the encode workers.

import type { TargetProfile } from '../model/target-profile.js';
import type { CandidateSpec } from '../planner/candidates.js';

/** Work for one chunk. */
export interface EncodeTask {
  readonly newData: Uint8Array;
  /** Concatenated old source regions; empty when there is none. */
  readonly sourceData: Uint8Array;
  readonly specs: readonly CandidateSpec[];
  /** Some target cannot use DIFF: every replace candidate must be computed. */
  readonly replaceRequired: boolean;
  /**
   * Some target that takes DIFF ops allows no `lead` differ: the middle and fallback differs are
   * then tried by their own rules, whatever the lead differ made. Computed once per build
   * (targetNeeds in encode-plan.ts).
   */
  readonly someDiffTargetWithoutLead?: boolean;
  /**
   * The targets: their format minors set the differs' options (diffOptionsFor), and the
   * self-check proves just the candidates they keep; when absent, every candidate returned is
   * proven.
   */
  readonly targets?: readonly TargetProfile[];
  /**
   * The chunk is from a partition without an old image (a full package): only the differs that
   * declare traits.withoutSource apply (on an empty source), and the slow codecs of a chunk over
   * SMALL_CHUNK_BYTES are chosen by content (fullImageSlowCodecs) instead of all being tried.
   */
  readonly fullImage?: boolean;
  /** False when some target is in-place (no sourceless DIFF there): full-image chunks get REPLACE only. */
  readonly sourcelessDiffAllowed?: boolean;
  /** Names the chunk in errors (e.g. `blocks 256+256`). */
  readonly where?: string;
  /**
   * The caller hands `newData` and `sourceData` over: an encoder may move them to a worker thread
   * instead of copying them, after which they are empty (detached) on the caller's side.
   */
  readonly handedOver?: boolean;
}
