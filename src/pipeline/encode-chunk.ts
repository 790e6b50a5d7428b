// Encodes one changed chunk with every requested candidate. Runs inside a worker thread (or
// in-process with --jobs 1). Memory: the chunk, its source, and each candidate's output.

import { codecByName } from '../codecs/codec-registry.js';
import { differByName } from '../diff/differ-registry.js';
import type { CandidateSpec, EncodedCandidate } from '../planner/candidates.js';

/** Work for one chunk. */
export interface EncodeTask {
  readonly newData: Uint8Array;
  /** Concatenated old source regions; empty when there is none. */
  readonly sourceData: Uint8Array;
  readonly specs: readonly CandidateSpec[];
  /** Try bsdiff only when zstd-dict beats the best replace by this factor (it is far slower). */
  readonly bsdiffGate: number;
}

/** Encodes every candidate; candidates that cannot apply (no source) are skipped. */
export async function encodeChunk(task: EncodeTask): Promise<EncodedCandidate[]> {
  const out: EncodedCandidate[] = [];
  for (const spec of task.specs) {
    if (spec.kind !== 'replace') continue;
    const codec = codecByName(spec.codec);
    out.push({ spec, bytes: await codec.encode(task.newData, spec.level), decoderMemoryBytes: codec.decoderMemoryBytes(spec.level, task.newData.length) });
  }
  if (task.sourceData.length === 0) return out;
  const bestReplace = Math.min(...out.map((c) => c.bytes.length), task.newData.length);
  const diffSpecs = task.specs.filter((s) => s.kind === 'diff');
  // zstd-dict first: it is fast and tells whether the source is similar enough to try bsdiff.
  diffSpecs.sort((a, b) => Number(a.differ === 'bsdiff') - Number(b.differ === 'bsdiff'));
  let bestDiff = Infinity;
  for (const spec of diffSpecs) {
    if (spec.differ === 'bsdiff' && diffSpecs.length > 1 && bestDiff > bestReplace * task.bsdiffGate) continue;
    const differ = differByName(spec.differ);
    const bytes = await differ.diff(task.sourceData, task.newData);
    bestDiff = Math.min(bestDiff, bytes.length);
    out.push({ spec, bytes, decoderMemoryBytes: differ.decoderMemoryBytes(task.sourceData.length, task.newData.length) });
  }
  // Keep the caller's candidate order so ties break the same way every run.
  const order = (s: CandidateSpec) => task.specs.indexOf(s);
  return out.sort((a, b) => order(a.spec) - order(b.spec));
}
