// Encodes one changed chunk with the requested candidates. Runs inside a worker thread (or
// in-process with --jobs 1). Memory: the chunk, its source, and each candidate's output.
// Candidates that cannot win are skipped by rules that look only at the data, so the result
// is the same on every run and every thread.

import { encoderByName } from '../codecs/encoder-registry.js';
import { differByName } from '../diff/differ-registry.js';
import type { CandidateSpec, EncodedCandidate } from '../planner/candidates.js';

/** Work for one chunk. */
export interface EncodeTask {
  readonly newData: Uint8Array;
  /** Concatenated old source regions; empty when there is none. */
  readonly sourceData: Uint8Array;
  readonly specs: readonly CandidateSpec[];
  /** Some target cannot use DIFF: every replace candidate must be computed. */
  readonly replaceRequired: boolean;
  /**
   * Some target that takes DIFF ops does not allow bsdiff-lzma: zstd-dict, bsdiff and bsdf2 are
   * then tried by their own rules, whatever bsdiff-lzma made.
   */
  readonly someTargetWithoutBsdiffLzma?: boolean;
}

/**
 * zstd-dict is tried only where bsdiff-lzma leaves more than this share of gzip (or the chunk is
 * small). On the bench pairs (~340 chunks of ext4 images of binaries and JS) zstd-dict won only
 * 0.04 % of the bytes of the chunks this skips, for ~35 % of the encode time.
 */
const ZSTD_DICT_WORTH_SHARE_OF_FAST = 0.3;
/** Chunks up to this size cost little to encode: every differ is tried. */
const SMALL_CHUNK_BYTES = 256 * 1024;
/** A diff this small (relative to the chunk) leaves nothing for bsdiff to win worth its time. */
const DIFF_IS_TINY = 1 / 64;
/**
 * Without bsdiff-lzma, bsdiff is tried only when zstd-dict beats the fast codecs at least this
 * much (else the source is of little use): there bsdiff saved ~1 % for ~30 % of the encode time.
 */
const BSDIFF_MAX_SHARE_OF_FAST = 1 / 2;
const BSDIFF_MAX_SHARE_OF_FAST_SMALL = 0.9;
/** bsdiff's suffix sort degrades badly on long zero runs; skip it when more blocks than this are zero. */
const MAX_ZERO_BLOCK_SHARE = 1 / 2;
/**
 * No slow codec is tried when the best diff is under this share of the best fast codec: on the
 * bench pairs (ext4 images of binaries and JS, ~700 chunks) a replace codec won only where the
 * best diff was at least 0.64 x gzip -9, and there by under 1 %.
 */
const REPLACE_HOPELESS = 0.7;
/** The other slow codecs are tried only when the strongest one comes this close to the best diff. */
const REPLACE_CLOSE = 1.05;
/** Differs built on bsdiff's suffix sort (bsdf2 re-packs the bsdiff patch of the same chunk). */
const SUFFIX_SORT_FAMILY = new Set(['bsdiff', 'bsdf2']);
/** Replace codecs in the order they are tried: fast ones first. */
const FAST_CODECS = new Set(['none', 'gzip']);
/** Slow codecs, strongest first on firmware data: the first one allowed probes whether replace can win. */
const SLOW_CODEC_ORDER = ['xz', 'zstd', 'brotli'];

/** Computes one candidate of a task. */
export type ComputeCandidate = (spec: CandidateSpec) => Promise<EncodedCandidate>;

/** Encodes the candidates of one chunk; candidates that cannot apply or cannot win are skipped. */
export async function encodeChunk(task: EncodeTask): Promise<EncodedCandidate[]> {
  const size = task.newData.length;
  const compute: ComputeCandidate = async (spec) => {
    if (spec.kind === 'replace') {
      const codec = encoderByName(spec.codec);
      return {
        spec,
        bytes: await codec.encode(task.newData, spec.level),
        decoderMemoryBytes: codec.decoderMemoryBytes(spec.level, size),
      };
    }
    const differ = differByName(spec.differ);
    return {
      spec,
      bytes: await differ.diff(task.sourceData, task.newData),
      decoderMemoryBytes: differ.decoderMemoryBytes(task.sourceData.length, size),
    };
  };
  return encodeWithRules(task, compute, false);
}

/**
 * The candidate-selection rules of a chunk, over any way of computing one candidate (directly,
 * or through compare's cache). Phase 1: bsdiff-lzma (fast, and the smallest on most chunks) and
 * the fast codecs. Phase 2: zstd-dict, on small chunks or where bsdiff-lzma leaves over
 * ZSTD_DICT_WORTH_SHARE_OF_FAST of gzip. Phase 3: bsdiff/bsdf2 (one suffix sort for both) only
 * when bsdiff-lzma is not a candidate, and then only where the source helps. Where some target
 * cannot use bsdiff-lzma, phases 2 and 3 ignore its result. Phase 4 (skipped when the best diff is under REPLACE_HOPELESS of the best fast codec):
 * the strongest slow codec, then the others only when it comes close to the best diff. A target
 * that cannot use DIFF gets every replace candidate. Results come back in the task's spec order.
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
  const replaceSpecs = task.specs.filter((s): s is Extract<CandidateSpec, { kind: 'replace' }> => s.kind === 'replace');
  const diffSpecs =
    task.sourceData.length > 0
      ? task.specs.filter((s): s is Extract<CandidateSpec, { kind: 'diff' }> => s.kind === 'diff')
      : [];
  const lzmaDiffs = diffSpecs.filter((s) => s.differ === 'bsdiff-lzma');
  const zstdDiffs = diffSpecs.filter((s) => s.differ === 'zstd-dict');
  const suffixDiffs = diffSpecs.filter((s) => SUFFIX_SORT_FAMILY.has(s.differ));
  const smallest = (cs: readonly EncodedCandidate[], kind: CandidateSpec['kind'], start: number) =>
    Math.min(start, ...cs.filter((c) => c.spec.kind === kind).map((c) => c.bytes.length));

  // Phase 1: bsdiff-lzma and the fast codecs.
  const out = await run([...lzmaDiffs, ...replaceSpecs.filter((s) => FAST_CODECS.has(s.codec))]);
  let bestDiff = smallest(out, 'diff', Infinity);
  const bestFast = smallest(out, 'replace', size);

  // Phase 2: zstd-dict where bsdiff-lzma did not already leave it nothing to win.
  const lzmaStandsIn = lzmaDiffs.length > 0 && task.someTargetWithoutBsdiffLzma !== true;
  if (zstdDiffs.length > 0 && (!lzmaStandsIn || small || bestDiff > bestFast * ZSTD_DICT_WORTH_SHARE_OF_FAST)) {
    out.push(...(await run(zstdDiffs)));
    bestDiff = smallest(out, 'diff', Infinity);
  }

  // Phase 3: bsdiff and bsdf2, where bsdiff-lzma cannot stand in for them and the source helps
  // (judged by the other differs).
  if (suffixDiffs.length > 0 && !lzmaStandsIn) {
    const onlySuffix = suffixDiffs.length === diffSpecs.length - lzmaDiffs.length;
    const maxShare = small ? BSDIFF_MAX_SHARE_OF_FAST_SMALL : BSDIFF_MAX_SHARE_OF_FAST;
    const bestOther = smallest(
      out.filter((c) => c.spec.kind !== 'diff' || c.spec.differ !== 'bsdiff-lzma'),
      'diff',
      Infinity,
    );
    const worthTrying = onlySuffix || (bestOther > size * DIFF_IS_TINY && bestOther < bestFast * maxShare);
    if (worthTrying && (onlySuffix || zeroBlockShare(task.sourceData, task.newData) <= MAX_ZERO_BLOCK_SHARE)) {
      out.push(...(await run(suffixDiffs)));
      bestDiff = smallest(out, 'diff', Infinity);
    }
  }

  // Phase 4: the slow codecs, only where replace may still win (or some target needs them all).
  const slow = replaceSpecs
    .filter((s) => !FAST_CODECS.has(s.codec))
    .sort((a, b) => slowRank(a.codec) - slowRank(b.codec));
  const haveReplace = out.some((c) => c.spec.kind === 'replace');
  if (task.replaceRequired || !haveReplace) {
    out.push(...(await run(slow)));
  } else if (slow.length > 0 && bestDiff >= bestFast * REPLACE_HOPELESS) {
    const probe = await run(slow.slice(0, 1));
    out.push(...probe);
    if (probe[0]!.bytes.length < bestDiff * REPLACE_CLOSE) out.push(...(await run(slow.slice(1))));
  }
  // Report in the caller's candidate order so ties break the same way every run.
  const order = (s: CandidateSpec) => task.specs.indexOf(s);
  return out.sort((a, b) => order(a.spec) - order(b.spec));
}

/** Position of a slow codec in SLOW_CODEC_ORDER (unknown ones last, in spec order). */
function slowRank(codec: string): number {
  const i = SLOW_CODEC_ORDER.indexOf(codec);
  return i < 0 ? SLOW_CODEC_ORDER.length : i;
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
