// The rules only full-image chunks (no old image) follow: which slow codec a chunk's content class
// gets, when the fast codecs still matter, and when a sourceless diff leaves the slow codecs
// nothing to win. Reads plugin traits and hooks, never names.

import { encoderByName } from '../codecs/encoder-registry.js';
import { differByName } from '../diff/differ-registry.js';
import { contentClassOf } from '../hashing/content-sketch.js';
import { allowedFor, type EncodedCandidate, type ReplaceSpec } from '../planner/candidates.js';
import type { EncodeTask } from './encode-task.js';
import { hasQuickEstimate, quickEstimateBytes, worstBestAllowedDiff } from './quick-estimate.js';

/** Chunks up to this size cost little to encode: every differ and codec is tried. */
export const SMALL_CHUNK_BYTES = 256 * 1024;

/**
 * A large full-image chunk gets the fast codecs (gzip, none) too only where its slow codec's
 * output is over this share of it: nearly incompressible data, where storing it may win.
 */
const FULL_FAST_WORTH_SHARE = 0.9;

/**
 * A large full-image chunk whose sourceless diff is under this share of the quick estimate (zstd
 * -1) gets no slow codec: xz -9e makes text at best ~0.6 x zstd -1, and deflated bytes (where a
 * sourceless diff wins: ~0.3 x on the bench's apk-64) no smaller at all.
 */
const SOURCELESS_WINS_SHARE = 0.5;

/**
 * The slow codecs a full-image chunk gets: for each target (or, without targets, for any), the
 * first it allows among those suited to the chunk's content class (traits.suitedContent), else
 * the first it allows; `slow` is in probeOrder. On the bench's full images (ext4 of JS and x86
 * binaries, 4 MiB chunks) the suited codec was the smallest on 10 of 12 chunks and within 3 % on
 * the others, for a third to a half of the time of trying all three.
 */
export function fullImageSlowCodecs(task: EncodeTask, slow: readonly ReplaceSpec[]): ReplaceSpec[] {
  const cls = contentClassOf(task.newData);
  const suited = (s: ReplaceSpec) => encoderByName(s.codec).traits.suitedContent?.includes(cls) === true;
  const preferred = [...slow.filter(suited), ...slow.filter((s) => !suited(s))];
  const firstFor = (allowed: (codec: string) => boolean) => preferred.find((s) => allowed(s.codec));
  const picks = task.targets
    ? task.targets.map((p) => firstFor((codec) => p.allowedCodecs.includes(codec)))
    : [preferred[0]];
  return slow.filter((s) => picks.includes(s));
}

/**
 * Whether a large full-image chunk still needs the fast codecs after its slow one: when the slow
 * codec left it over FULL_FAST_WORTH_SHARE of its size (where storing it may win), or some
 * target (or, without targets, any) can use none of the candidates made. On the bench's full
 * images gzip -9 never won a 4 MiB chunk from xz -9 and cost ~10 % of the build's CPU time.
 */
export function fastStillNeeded(task: EncodeTask, made: readonly EncodedCandidate[]): boolean {
  const best = Math.min(Infinity, ...made.map((c) => c.bytes.length));
  if (best > task.newData.length * FULL_FAST_WORTH_SHARE || task.targets === undefined) return true;
  return task.targets.some((t) => !made.some((c) => allowedFor(t, c)));
}

/**
 * Whether a large full-image chunk's sourceless diff leaves its slow codecs nothing to win: every
 * target keeps a sourceless diff no larger than the floor a differ states under any replace codec
 * of the chunk (replaceFloorBytes, an empirical floor with a measured margin: a codec is not
 * expected to win there; if one could, the package is larger, never wrong),
 * or under SOURCELESS_WINS_SHARE of the quick estimate (zstd -1). Needs the targets (absent: false).
 */
export async function sourcelessWins(task: EncodeTask, made: readonly EncodedCandidate[]): Promise<boolean> {
  const diffs = made.filter((c) => c.spec.kind === 'diff');
  if (task.targets === undefined || task.targets.length === 0 || diffs.length === 0) return false;
  const worstBest = worstBestAllowedDiff(task.targets, diffs);
  // No floor exceeds the chunk: past it, asking one (maybe a search, for compare's cached diffs) is no use.
  if (!(worstBest < task.newData.length)) return false;
  if (worstBest <= replaceFloorBytes(task, diffs)) return true;
  if (!hasQuickEstimate() || !(worstBest <= SOURCELESS_WINS_SHARE * task.newData.length)) return false;
  return worstBest <= SOURCELESS_WINS_SHARE * (await quickEstimateBytes(task.newData));
}

/**
 * The highest floor under every replace codec that a differ of `diffs` states for the chunk
 * (traits.withoutSource differs with replaceFloorBytes); 0 when none does. Differs come from the
 * registry, as for applies(): a plugin differ injected into encodeChunk (tests) is asked through
 * its registered namesake, which computes its floor afresh.
 */
function replaceFloorBytes(task: EncodeTask, diffs: readonly EncodedCandidate[]): number {
  let floor = 0;
  for (const c of diffs) {
    if (c.spec.kind !== 'diff') continue;
    const differ = differByName(c.spec.differ);
    if (differ.traits.withoutSource !== true || differ.replaceFloorBytes === undefined) continue;
    floor = Math.max(floor, differ.replaceFloorBytes(task.newData));
  }
  return floor;
}
