// Encodes one changed chunk with the requested candidates. Runs inside a worker thread (or
// in-process with --jobs 1). Memory: the chunk, its source, and each candidate's output.
// Candidates that cannot win are skipped by rules that look only at the data, so the result
// is the same on every run and every thread.

import { codecByName } from '../codecs/codec-registry.js';
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
}

/** A diff this small (relative to the chunk) leaves nothing for slower encoders to win. */
const DIFF_IS_TINY = 1 / 64;
/** Slow replace codecs are skipped when a diff is already this much smaller than the fast ones. */
const DIFF_BEATS_REPLACE = 1 / 4;
/** bsdiff's suffix sort degrades badly on long zero runs; skip it when more blocks than this are zero. */
const MAX_ZERO_BLOCK_SHARE = 1 / 8;
/** Replace codecs in the order they are tried: fast ones first. */
const FAST_CODECS = new Set(['none', 'gzip']);

/** Computes one candidate of a task. */
export type ComputeCandidate = (spec: CandidateSpec) => Promise<EncodedCandidate>;

/** Encodes the candidates of one chunk; candidates that cannot apply or cannot win are skipped. */
export async function encodeChunk(task: EncodeTask): Promise<EncodedCandidate[]> {
  const size = task.newData.length;
  const compute: ComputeCandidate = async (spec) => {
    if (spec.kind === 'replace') {
      const codec = codecByName(spec.codec);
      return { spec, bytes: await codec.encode(task.newData, spec.level), decoderMemoryBytes: codec.decoderMemoryBytes(spec.level, size) };
    }
    const differ = differByName(spec.differ);
    return { spec, bytes: await differ.diff(task.sourceData, task.newData), decoderMemoryBytes: differ.decoderMemoryBytes(task.sourceData.length, size) };
  };
  return encodeWithRules(task, compute, false);
}

/**
 * The candidate-selection rules of a chunk, over any way of computing one candidate (directly,
 * or through compare's cache): zstd-dict and the fast codecs first; the slow codecs unless a
 * diff already wins by far (or some target needs replace); bsdiff only where it may win and the
 * data is not mostly zeros. Results come back in the task's spec order. `parallel` runs each
 * phase's candidates concurrently; otherwise one at a time (a worker's memory stays one candidate).
 */
export async function encodeWithRules(task: EncodeTask, compute: ComputeCandidate, parallel: boolean): Promise<EncodedCandidate[]> {
  const run = async (specs: readonly CandidateSpec[]): Promise<EncodedCandidate[]> => {
    if (parallel) return Promise.all(specs.map(compute));
    const out: EncodedCandidate[] = [];
    for (const spec of specs) out.push(await compute(spec));
    return out;
  };
  const size = task.newData.length;
  const replaceSpecs = task.specs.filter((s): s is Extract<CandidateSpec, { kind: 'replace' }> => s.kind === 'replace');
  const diffSpecs = task.sourceData.length > 0 ? task.specs.filter((s): s is Extract<CandidateSpec, { kind: 'diff' }> => s.kind === 'diff') : [];

  // Phase 1: zstd-dict (fast, and it tells whether anything else can still win) and the fast codecs.
  const first = await run([...diffSpecs.filter((s) => s.differ === 'zstd-dict'), ...replaceSpecs.filter((s) => FAST_CODECS.has(s.codec))]);
  const bestDiff = Math.min(Infinity, ...first.filter((c) => c.spec.kind === 'diff').map((c) => c.bytes.length));
  const bestFast = Math.min(size, ...first.filter((c) => c.spec.kind === 'replace').map((c) => c.bytes.length));

  // Phase 2: the slow codecs unless a diff already wins by far, and bsdiff when it may win.
  const diffWins = bestDiff < bestFast * DIFF_BEATS_REPLACE;
  let haveReplace = first.some((c) => c.spec.kind === 'replace');
  const second: CandidateSpec[] = [];
  for (const spec of replaceSpecs) {
    if (FAST_CODECS.has(spec.codec)) continue;
    if (!task.replaceRequired && diffWins && haveReplace) continue;
    second.push(spec);
    haveReplace = true;
  }
  const bsdiff = diffSpecs.find((s) => s.differ === 'bsdiff');
  if (bsdiff) {
    const onlyDiffer = diffSpecs.length === 1;
    const worthTrying = onlyDiffer || (bestDiff > size * DIFF_IS_TINY && bestDiff < bestFast / 2);
    if (worthTrying && (onlyDiffer || zeroBlockShare(task.sourceData, task.newData) <= MAX_ZERO_BLOCK_SHARE)) second.push(bsdiff);
  }
  const out = [...first, ...(await run(second))];
  // Report in the caller's candidate order so ties break the same way every run.
  const order = (s: CandidateSpec) => task.specs.indexOf(s);
  return out.sort((a, b) => order(a.spec) - order(b.spec));
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
