// The quick estimate the encode rules bound codecs by (the encoder that declares an
// estimateLevel: zstd -1), and the size a skip must hold for across targets. Both shared by the
// delta rules (encode-chunk.ts) and the full-image rules (full-image-rules.ts).

import { allEncoders } from '../codecs/encoder-registry.js';
import type { TargetProfile } from '../model/target-profile.js';
import { allowedFor, type EncodedCandidate } from '../planner/candidates.js';

/** True when some encoder declares an estimate level. */
export function hasQuickEstimate(): boolean {
  return allEncoders().some((e) => e.traits.estimateLevel !== undefined);
}

/** Bytes of `data` coded by the estimating encoder at its estimate level (hasQuickEstimate first). */
export async function quickEstimateBytes(data: Uint8Array): Promise<number> {
  const estimator = allEncoders().find((e) => e.traits.estimateLevel !== undefined)!;
  return (await estimator.encode(data, estimator.traits.estimateLevel!)).length;
}

/**
 * The largest of the targets' best allowed DIFF candidates among `made` (Infinity when some target
 * can use none): what a skip must hold for, since a diff one target cannot use leaves it the codecs.
 */
export function worstBestAllowedDiff(targets: readonly TargetProfile[], made: readonly EncodedCandidate[]): number {
  const bestFor = (t: TargetProfile) =>
    Math.min(Infinity, ...made.filter((c) => c.spec.kind === 'diff' && allowedFor(t, c)).map((c) => c.bytes.length));
  return Math.max(...targets.map(bestFor));
}
