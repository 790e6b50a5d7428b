// Encodes one changed chunk with the requested candidates. Runs inside a worker thread (or
// in-process with --jobs 1). Memory: the chunk, its source, and each candidate's output.
// Candidates that cannot win are skipped by rules that look only at the data and at the traits
// each encoder and differ declares (never at their names), so the result is the same on every
// run and every thread, and a new plugin needs no edit here.

import { encoderByName } from '../codecs/encoder-registry.js';
import type { DifferTraits } from '../diff/differ.js';
import { differByName } from '../diff/differ-registry.js';
import { provenDeflates } from '../diff/proven-deflates.js';
import type { EncodeOptions, Encoder } from '../codecs/encoder.js';
import type { Differ, DiffOptions } from '../diff/differ.js';
import {
  selectCandidate,
  type CandidateSpec,
  type DiffSpec,
  type EncodedCandidate,
  type ReplaceSpec,
} from '../planner/candidates.js';
import { encodeOptions } from './encode-options.js';
import { fastStillNeeded, fullImageSlowCodecs, SMALL_CHUNK_BYTES, sourcelessWins } from './full-image-rules.js';
import { hasQuickEstimate, worstBestAllowedDiff } from './quick-estimate.js';
import { ChunkEstimates, hasEstimate } from './chunk-estimates.js';
import { EarlyProofs } from './early-proofs.js';
import { proveKept } from './self-check.js';
import type { EncodeTask } from './encode-task.js';

/**
 * Encoders and differs that replace the registered ones of the same name. The injection point
 * for tests that prove the self-check catches a broken plugin; builds never set it.
 */
export interface EncodePlugins {
  readonly encoders?: readonly Encoder[];
  readonly differs?: readonly Differ[];
}

/**
 * A middle differ (zstd-dict) is tried only where the lead (bsdiff-lzma) leaves more than this
 * share of the best fast codec (or the chunk is small). On the bench pairs (~340 chunks of ext4 images of binaries and JS) zstd-dict won only
 * 0.04 % of the bytes of the chunks this skips, for ~35 % of the encode time.
 */
const ZSTD_DICT_WORTH_SHARE_OF_FAST = 0.3;
/**
 * A chunk and its source of at most this many bytes together get the middle differs without
 * consulting their estimates: the small-chunk bound, counting the source too, since zstd-dict
 * loads it whole as a level-19 dictionary (a small chunk with a 1-1.6 MiB source cost 0.2-0.4 s of
 * a thread). On the six 64 and 256 MiB bench pairs, small chunks with larger sources took 1.8 s of
 * zstd-dict in all and won 16 bytes; with the estimate consulted, 0.54 s (0.27 s of estimates,
 * 0.27 s of tries), the same 16 bytes won.
 */
const SMALL_PAIR_BYTES = SMALL_CHUNK_BYTES;
/** A diff this small (relative to the chunk) leaves nothing for a fallback differ to win worth its time. */
const DIFF_IS_TINY = 1 / 64;
/**
 * Where each target keeps a content-transforming lead's patch of at most this share of the chunk,
 * the other leads could win at most that and are skipped. On apk-64's changed zip members
 * deflate-aware made 310-803 bytes of 1.1-1.7 MB chunks where bsdiff-lzma spent its scan and
 * LZMA2 on 0.07-1.4 MB of deflated bytes; over the six 64 and 256 MiB bench pairs no chunk under
 * this share had a smaller bsdiff-lzma patch than its transformed one.
 */
export const LEAD_LEAVES_NOTHING_SHARE = 1 / 1024;
/**
 * Without a lead differ, the fallbacks (bsdiff) are tried only when the other differs beat the fast
 * codecs at least this much (else the source is of little use): there bsdiff saved ~1 % for ~30 %
 * of the encode time.
 */
const BSDIFF_MAX_SHARE_OF_FAST = 1 / 2;
const BSDIFF_MAX_SHARE_OF_FAST_SMALL = 0.9;
/** A suffix sort degrades badly on long zero runs; differs that declare it are skipped past this zero share. */
const MAX_ZERO_BLOCK_SHARE = 1 / 2;
/**
 * No slow codec is tried when the best diff is under this share of the best fast codec: on the
 * bench pairs (ext4 images of binaries and JS, ~700 chunks) a replace codec won only where the
 * best diff was at least 0.64 x gzip -9, and there by under 1 %.
 */
const REPLACE_HOPELESS = 0.7;
/** The other slow codecs are tried only when the strongest one comes this close to the best diff. */
const REPLACE_CLOSE = 1.05;
/**
 * No fast codec makes a chunk smaller than this share of the quick estimate (the codec that
 * declares an estimateLevel: zstd -1). On the bench pairs' ~140 changed chunks gzip -9 was
 * 0.85-2.2 x zstd -1 (on the 33 chunks of the 64 and 256 MiB pairs where it still ran with a
 * floor of 0.5, 0.92-1.88; the unit test's synthetic text 0.76), and zstd -1 cost ~2 % of
 * gzip -9's time. From 0.5 to 0.7: gzip -9 (85-190 ms per 2 MiB chunk) no longer runs on 7 of
 * those 33 chunks, same packages. Should some data go below it, only a decision taken against
 * the floor instead of gzip's size can change (never a package's validity).
 */
const FAST_FLOOR_SHARE_OF_ESTIMATE = 0.7;

const tierOf = (s: DiffSpec): DifferTraits['tier'] => differByName(s.differ).traits.tier;
const isFast = (s: ReplaceSpec): boolean => encoderByName(s.codec).traits.speedClass === 'fast';

/** Computes one candidate of a task. */
export type ComputeCandidate = (spec: CandidateSpec) => Promise<EncodedCandidate>;

/**
 * Encodes the candidates of one chunk (candidates that cannot apply or cannot win are skipped),
 * then self-checks the ones the targets keep while the data is hot (see self-check.ts).
 */
export async function encodeChunk(task: EncodeTask, plugins: EncodePlugins = {}): Promise<EncodedCandidate[]> {
  const size = task.newData.length;
  // Measured on the first codec only: a chunk whose sourceless diff wins needs none (~0.1 s per 4 MiB).
  let measured: EncodeOptions | undefined;
  const early = new EarlyProofs(task);
  const compute: ComputeCandidate = async (spec) => {
    if (spec.kind === 'replace') {
      const options = (measured ??= encodeOptions(task));
      const codec = plugins.encoders?.find((e) => e.name === spec.codec) ?? encoderByName(spec.codec);
      const formatMinor = codec.formatMinorWith?.(options) ?? 0;
      const encoding = codec.encode(task.newData, spec.level, options);
      early.beginWaiting(); // the codec's work is queued: the diffs made before it are proven meanwhile
      return {
        spec,
        ...(formatMinor > 0 ? { formatMinor } : {}),
        bytes: await encoding,
        decoderMemoryBytes:
          codec.decoderMemoryBytesWith?.(spec.level, size, options) ?? codec.decoderMemoryBytes(spec.level, size),
      };
    }
    const differ = plugins.differs?.find((d) => d.name === spec.differ) ?? differByName(spec.differ);
    const bytes = await differ.diff(task.sourceData, task.newData, diffOptionsFor(task, spec.differ));
    const formatMinor = differ.patchFormatMinor?.(bytes) ?? 0;
    const made = {
      spec,
      ...(formatMinor > 0 ? { formatMinor } : {}),
      bytes,
      decoderMemoryBytes:
        differ.patchDecoderMemoryBytes?.(bytes, task.sourceData.length, size) ??
        differ.decoderMemoryBytes(task.sourceData.length, size),
    };
    if (task.fullImage === true && task.sourceData.length === 0) early.add(made);
    return made;
  };
  try {
    return await proveKept(task, await early.settle(await encodeWithRules(task, compute, false)), task.targets);
  } finally {
    provenDeflates.clear(); // the re-deflations proven for this chunk, and its buffer, go with it
  }
}

/**
 * The least maxFormatMinor of the task's targets that allow `differ` (none: no limit), so a patch
 * all of them can use is made (DiffOptions).
 */
export function diffOptionsFor(task: Pick<EncodeTask, 'targets'>, differ: string): DiffOptions {
  const limits = (task.targets ?? [])
    .filter((t) => t.allowedDiffers.includes(differ))
    .map((t) => t.maxFormatMinor)
    .filter((m): m is number => m !== undefined);
  return limits.length > 0 ? { maxFormatMinor: Math.min(...limits) } : {};
}

/**
 * The candidate-selection rules of a chunk, over any way of computing one candidate (directly,
 * or through compare's cache), driven by the plugins' declared traits. First, on a large,
 * poorly compressible chunk its source barely helps (ChunkEstimates.sourceHelpsByteDiffers),
 * every differ is dropped but the content-aware ones that apply and say they beat a byte differ
 * there (beatsByteDiffers); the phases below then run with those. Phase 1: the `lead`
 * differs (bsdiff-lzma: fast, and the smallest on most chunks), those that transform content
 * first (transformsContent: deflate-aware); where every target keeps a patch of theirs that
 * transformed content and is at most LEAD_LEAVES_NOTHING_SHARE of the chunk, the other leads
 * are skipped (leadsLeaveNothing); then the `fast` codecs unless
 * every target's best lead diff is far below what they could make (fastFloor). Phase 2: the
 * `middle` differs (zstd-dict), on small chunks or where the lead leaves over
 * ZSTD_DICT_WORTH_SHARE_OF_FAST of the best fast codec, and (unless chunk and source are small
 * together: SMALL_PAIR_BYTES) where the differ's quick estimate, divided by its declared
 * estimateGain, does not already lose to the best diff. Phase 3: the `fallback` differs
 * (bsdiff/bsdf2, one suffix sort for both) only when no lead differ is a candidate, and then only
 * where the source helps. Where some target allows no lead differ, phases 2 and 3 ignore the
 * lead's result. Phase 4 (skipped when the best diff is under REPLACE_HOPELESS of the best fast
 * codec): the `slow` codec first in probeOrder, then the others only when it comes close to the
 * best diff. A target that cannot use DIFF gets every replace candidate. A large full-image
 * chunk gets its slow codecs by class (fullImageSlowCodecs), then the fast codecs only where
 * they may still matter (fastStillNeeded). Results come back in the task's spec order.
 * `parallel` runs each phase's candidates concurrently; otherwise one at a time (a worker's
 * memory stays one candidate).
 */
export async function encodeWithRules(
  task: EncodeTask,
  compute: ComputeCandidate,
  parallel: boolean,
): Promise<EncodedCandidate[]> {
  const run = async (specs: readonly CandidateSpec[]): Promise<EncodedCandidate[]> => {
    if (parallel) return Promise.all(specs.map(compute));
    const out: EncodedCandidate[] = [];
    for (const spec of specs) out.push(await compute(spec));
    return out;
  };
  const size = task.newData.length;
  const small = size <= SMALL_CHUNK_BYTES;
  const smallPair = size + task.sourceData.length <= SMALL_PAIR_BYTES;
  const replaceSpecs = task.specs.filter((s): s is ReplaceSpec => s.kind === 'replace');
  // Content-aware differs join only chunks that hold their content.
  const applies = (s: DiffSpec) => differByName(s.differ).applies?.(task.sourceData, task.newData) ?? true;
  const allDiffSpecs = task.specs.filter((s): s is DiffSpec => s.kind === 'diff');
  const estimates = new ChunkEstimates(task);
  // Where the source barely helps a poorly compressible chunk, only the content-aware differs
  // that can tell they beat a byte differ there run (ChunkEstimates.sourceHelpsByteDiffers).
  const beatsBytes = (s: DiffSpec) =>
    differByName(s.differ).beatsByteDiffers?.(task.sourceData, task.newData, diffOptionsFor(task, s.differ)) ?? false;
  const diffSpecs =
    task.sourceData.length === 0
      ? []
      : (await estimates.sourceHelpsByteDiffers(allDiffSpecs, replaceSpecs))
        ? allDiffSpecs.filter(applies)
        : allDiffSpecs.filter((s) => applies(s) && beatsBytes(s));
  // A full image's chunk: the differs that need no source, where they apply (a sourceless DIFF).
  const sourceless =
    task.fullImage === true && task.sourceData.length === 0 && task.sourcelessDiffAllowed !== false
      ? allDiffSpecs.filter((s) => differByName(s.differ).traits.withoutSource === true).filter(applies)
      : [];
  const leadDiffs = diffSpecs.filter((s) => tierOf(s) === 'lead');
  const middleDiffs = diffSpecs.filter((s) => tierOf(s) === 'middle');
  const fallbackDiffs = diffSpecs.filter((s) => tierOf(s) === 'fallback');
  const smallest = (cs: readonly EncodedCandidate[], kind: CandidateSpec['kind'], start: number) =>
    Math.min(start, ...cs.filter((c) => c.spec.kind === kind).map((c) => c.bytes.length));
  // What a skip must hold for: the largest of the targets' best allowed diffs (a diff one target
  // cannot use, by differ or decoder memory, leaves it the codecs); without targets, the best diff.
  const worstBestDiff = (cs: readonly EncodedCandidate[]) =>
    task.targets === undefined || task.targets.length === 0
      ? smallest(cs, 'diff', Infinity)
      : worstBestAllowedDiff(task.targets, cs);

  // Phase 1: the lead differs (on a full image: the sourceless ones), then the fast codecs unless
  // they cannot matter (fastFloor) or come after the slow one (large full-image chunks, phase 4).
  const fullLarge = task.fullImage === true && !small;
  const leadStandsIn = leadDiffs.length > 0 && task.someDiffTargetWithoutLead !== true;
  // Content-transforming leads first: where each target keeps one of their transformed patches
  // that is tiny (leadsLeaveNothing), the other leads are skipped. (With `parallel`, compare's,
  // they run before the other leads rather than beside them: the same candidates as a build.)
  const transforming = (s: DiffSpec) => differByName(s.differ).transformsContent !== undefined;
  const out = await run([...leadDiffs.filter(transforming), ...sourceless]);
  if (!leadsLeaveNothing(task, out)) out.push(...(await run(leadDiffs.filter((s) => !transforming(s)))));
  const floor = leadStandsIn && !task.replaceRequired ? await fastFloor(task, out, estimates) : undefined;
  if (floor === undefined && !fullLarge) out.push(...(await run(replaceSpecs.filter(isFast))));
  let bestDiff = smallest(out, 'diff', Infinity);
  const bestFast = floor ?? smallest(out, 'replace', size);

  // Phase 2: the middle differs where the lead did not already leave them nothing to win, and
  // where their estimate (if they have one) does not already lose to the best diff.
  if (middleDiffs.length > 0 && (!leadStandsIn || small || bestDiff > bestFast * ZSTD_DICT_WORTH_SHARE_OF_FAST)) {
    const worth = async (s: DiffSpec) => {
      const differ = differByName(s.differ);
      if (!leadStandsIn || smallPair || !hasEstimate(differ)) return true;
      const estimate = await estimates.fromSourceBytes(differ);
      return estimate / (differ.traits.estimateGain ?? 1) <= worstBestDiff(out);
    };
    const tried: DiffSpec[] = [];
    for (const s of middleDiffs) if (await worth(s)) tried.push(s);
    out.push(...(await run(tried)));
    bestDiff = smallest(out, 'diff', Infinity);
  }

  // Phase 3: the fallback differs, where no lead differ stands in for them and the source helps
  // (judged by the middle differs).
  if (fallbackDiffs.length > 0 && !leadStandsIn) {
    const onlyFallback = fallbackDiffs.length === diffSpecs.length - leadDiffs.length;
    const maxShare = small ? BSDIFF_MAX_SHARE_OF_FAST_SMALL : BSDIFF_MAX_SHARE_OF_FAST;
    const bestOther = smallest(
      out.filter((c) => c.spec.kind !== 'diff' || tierOf(c.spec) !== 'lead'),
      'diff',
      Infinity,
    );
    const worthTrying = onlyFallback || (bestOther > size * DIFF_IS_TINY && bestOther < bestFast * maxShare);
    const zeroRunsHurt = fallbackDiffs.some((s) => differByName(s.differ).traits.slowOnZeroRuns);
    const zeroRunsOk =
      onlyFallback || !zeroRunsHurt || zeroBlockShare(task.sourceData, task.newData) <= MAX_ZERO_BLOCK_SHARE;
    if (worthTrying && zeroRunsOk) {
      out.push(...(await run(fallbackDiffs)));
      bestDiff = smallest(out, 'diff', Infinity);
    }
  }

  // Phase 4: the slow codecs, only where replace may still win (or some target needs them all).
  const slow = replaceSpecs
    .filter((s) => !isFast(s))
    .sort((a, b) => encoderByName(a.codec).traits.probeOrder - encoderByName(b.codec).traits.probeOrder);
  const haveReplace = floor !== undefined || out.some((c) => c.spec.kind === 'replace');
  if (fullLarge) {
    // Small chunks cost little: they still try every slow codec (the choice by class was measured on 4 MiB).
    if (!(await sourcelessWins(task, out))) out.push(...(await run(fullImageSlowCodecs(task, slow))));
    if (fastStillNeeded(task, out)) out.push(...(await run(replaceSpecs.filter(isFast))));
  } else if (task.replaceRequired || !haveReplace) {
    out.push(...(await run(slow)));
  } else if (slow.length > 0 && worstBestDiff(out) >= bestFast * REPLACE_HOPELESS) {
    const probe = await run(slow.slice(0, 1));
    out.push(...probe);
    if (probe[0]!.bytes.length < worstBestDiff(out) * REPLACE_CLOSE) out.push(...(await run(slow.slice(1))));
  }
  // Report in the caller's candidate order so ties break the same way every run.
  const order = (s: CandidateSpec) => task.specs.indexOf(s);
  return out.sort((a, b) => order(a.spec) - order(b.spec));
}

/**
 * A floor under every fast codec's size (FAST_FLOOR_SHARE_OF_ESTIMATE of the quick estimate)
 * when each target's best allowed lead diff is so far below it that the fast codecs could
 * neither be kept nor change a later phase's decision (with the floor as the best fast codec,
 * every decision comes out as with the real one); else undefined, and they are run. Needs the
 * targets (absent: undefined).
 */
async function fastFloor(
  task: EncodeTask,
  leads: readonly EncodedCandidate[],
  estimates: ChunkEstimates,
): Promise<number | undefined> {
  if (task.targets === undefined || task.targets.length === 0 || !hasQuickEstimate()) return undefined;
  const worstBest = worstBestAllowedDiff(task.targets, leads);
  // The decisions compare the best diff with these shares of the best fast codec.
  const share = Math.min(ZSTD_DICT_WORTH_SHARE_OF_FAST, REPLACE_HOPELESS);
  // The estimate is a pass over the chunk: not made where even an incompressible chunk's floor is too low.
  if (!(worstBest <= share * FAST_FLOOR_SHARE_OF_ESTIMATE * task.newData.length)) return undefined;
  const floor = FAST_FLOOR_SHARE_OF_ESTIMATE * (await estimates.quickBytes());
  return worstBest <= share * floor ? floor : undefined;
}

/**
 * True when every target that allows DIFF keeps (selectCandidate) a patch of `made` that
 * transformed content and is at most LEAD_LEAVES_NOTHING_SHARE of the chunk: another lead could
 * win at most that much. Needs the targets (absent, or none allowing DIFF: false).
 */
function leadsLeaveNothing(task: EncodeTask, made: readonly EncodedCandidate[]): boolean {
  // A target without DIFF gets every replace candidate whatever the leads do.
  const diffTargets = (task.targets ?? []).filter((t) => t.allowedOperations.includes('diff'));
  if (diffTargets.length === 0 || made.length === 0) return false;
  const size = task.newData.length;
  return diffTargets.every((t) => {
    const c = made[selectCandidate(t, made)];
    if (c === undefined || c.spec.kind !== 'diff' || c.bytes.length > size * LEAD_LEAVES_NOTHING_SHARE) return false;
    return differByName(c.spec.differ).transformsContent?.(c.bytes, task.sourceData.length, size) === true;
  });
}

/** Share of 4 KiB blocks that are all zero across both inputs. */
export function zeroBlockShare(a: Uint8Array, b: Uint8Array): number {
  const blockBytes = 4096;
  const zero = Buffer.alloc(blockBytes);
  let zeros = 0;
  let blocks = 0;
  for (const data of [a, b]) {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (let at = 0; at + blockBytes <= buf.length; at += blockBytes) {
      blocks++;
      if (buf.compare(zero, 0, blockBytes, at, at + blockBytes) === 0) zeros++;
    }
  }
  return blocks === 0 ? 0 : zeros / blocks;
}
