// Encoding candidates for a changed chunk and the per-target choice among them. Pure policy:
// the smallest candidate the target's constraints allow wins; ties go to the earlier candidate.

import { readsFormatMinor, type TargetProfile } from '../model/target-profile.js';

/** What to try on a changed chunk. */
export type CandidateSpec =
  | { readonly kind: 'replace'; readonly codec: string; readonly level: number }
  | { readonly kind: 'diff'; readonly differ: string };

/** A candidate that REPLACEs the chunk with one codec. */
export type ReplaceSpec = Extract<CandidateSpec, { kind: 'replace' }>;
/** A candidate that DIFFs the chunk against its source with one differ. */
export type DiffSpec = Extract<CandidateSpec, { kind: 'diff' }>;

/** An encoded candidate. */
export interface EncodedCandidate {
  readonly spec: CandidateSpec;
  readonly bytes: Buffer;
  readonly decoderMemoryBytes: number;
  /**
   * Set once the build's self-check (pipeline/self-check.ts) decoded these bytes with the
   * decode-side codec or patcher and found them equal to the chunk's new data: the bytes compared.
   */
  readonly selfCheckedBytes?: number;
  /** Milliseconds the self-check spent decoding and comparing these bytes (thread time). */
  readonly selfCheckMs?: number;
  /**
   * The least package format minor these bytes need beyond the manifest's
   * (Encoder.formatMinorWith). Targets whose maxFormatMinor is lower do not keep them.
   */
  readonly formatMinor?: number;
}

/** Human label such as `replace/zstd-19` or `diff/bsdiff`. */
export function candidateLabel(spec: CandidateSpec): string {
  return spec.kind === 'replace' ? `replace/${spec.codec}-${spec.level}` : `diff/${spec.differ}`;
}

/** True when a target may emit this candidate. */
export function allowedFor(target: TargetProfile, c: EncodedCandidate): boolean {
  if (c.decoderMemoryBytes > target.decoderMemoryLimitBytes) return false;
  if (!readsFormatMinor(target, c.formatMinor ?? 0)) return false;
  if (c.spec.kind === 'replace')
    return target.allowedOperations.includes('replace') && target.allowedCodecs.includes(c.spec.codec);
  return target.allowedOperations.includes('diff') && target.allowedDiffers.includes(c.spec.differ);
}

/** Index of the smallest allowed candidate, or -1 when none is allowed. */
export function selectCandidate(target: TargetProfile, candidates: readonly EncodedCandidate[]): number {
  let best = -1;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (!allowedFor(target, c)) continue;
    if (best < 0 || c.bytes.length < candidates[best]!.bytes.length) best = i;
  }
  return best;
}
