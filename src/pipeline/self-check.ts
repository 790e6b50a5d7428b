// The build's self-check: every encoded candidate a target keeps is decoded (codec) or patched
// against its source (differ) by the DECODE-side half — the same code the device runs — and
// compared with the new bytes it claims to write, before any package is written. An encoder or
// differ bug then stops the build (SELF_CHECK_FAILED, exit 1) instead of shipping a package
// that fails only on the phone. Runs where the data is still in memory: in the encode worker
// right after the candidates are made, and on the main thread for any kept candidate that comes
// back without a proof (compare's cached candidates).

import { createHash } from 'node:crypto';
import { decoderFor } from '../codecs/decoder-registry.js';
import { patcherFor } from '../diff/patcher-registry.js';
import { provenDeflates } from '../diff/proven-deflates.js';
import { InternalError } from '../errors/ota-error.js';
import type { TargetProfile } from '../model/target-profile.js';
import { candidateLabel, selectCandidate, type EncodedCandidate } from '../planner/candidates.js';

/** A kept candidate does not reproduce its chunk: an encoder or differ bug (exit 1, internal). */
export function selfCheckError(message: string, options?: { cause?: unknown }): InternalError {
  return new InternalError('SELF_CHECK_FAILED', message, options);
}

/** The chunk a candidate claims to reproduce. */
export interface SelfCheckInput {
  readonly newData: Uint8Array;
  /** Concatenated old source regions; empty when there is none. */
  readonly sourceData: Uint8Array;
  /** Names the chunk in errors (e.g. `blocks 256+256`). */
  readonly where?: string;
}

/**
 * Indices of the candidates some target keeps (each target's smallest allowed one), or of every
 * candidate when the targets are not known here. Pure: the main thread picks the same ones.
 */
export function keptCandidates(candidates: readonly EncodedCandidate[], targets?: readonly TargetProfile[]): number[] {
  if (targets === undefined) return candidates.map((_, i) => i);
  const kept = new Set(targets.map((t) => selectCandidate(t, candidates)).filter((i) => i >= 0));
  return [...kept].sort((a, b) => a - b);
}

/**
 * Proves the kept candidates that carry no proof yet: decodes or patches each and compares the
 * result with `chunk.newData`. Returns the candidates with `selfCheckedBytes` set on the proven
 * ones. Throws OtaError `SELF_CHECK_FAILED` (exit 1) naming the chunk, the candidate and the
 * mismatch. Memory: one decoded copy of the chunk at a time.
 */
export async function proveKept(
  chunk: SelfCheckInput,
  candidates: readonly EncodedCandidate[],
  targets?: readonly TargetProfile[],
): Promise<EncodedCandidate[]> {
  const out = [...candidates];
  for (const i of keptCandidates(candidates, targets)) {
    const c = out[i]!;
    if (c.selfCheckedBytes !== undefined) continue;
    const t0 = performance.now();
    const selfCheckedBytes = await proveOne(chunk, c);
    out[i] = { ...c, selfCheckedBytes, selfCheckMs: performance.now() - t0 };
  }
  return out;
}

/** Decodes one candidate with the decode-side half and compares; returns the bytes compared. */
async function proveOne(chunk: SelfCheckInput, c: EncodedCandidate): Promise<number> {
  const expected = chunk.newData;
  const what = `${candidateLabel(c.spec)} for ${chunk.where ?? `a ${expected.length}-byte chunk`}`;
  let decoded: Buffer;
  const spec = c.spec;
  // Re-deflations the differ proved for this chunk are reused (proven-deflates.ts).
  const patchOptions = { proven: provenDeflates };
  try {
    decoded =
      spec.kind === 'replace'
        ? await decoderFor(spec.codec).decode(c.bytes, expected.length, c.decoderMemoryBytes)
        : await patcherFor(spec.differ).patch(
            chunk.sourceData,
            c.bytes,
            expected.length,
            c.decoderMemoryBytes,
            undefined,
            patchOptions,
          );
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw selfCheckError(`self-check: ${what} does not decode: ${reason}`, { cause: err });
  }
  const want = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (!decoded.equals(want)) {
    const at = firstDifference(decoded, want);
    throw selfCheckError(
      `self-check: ${what} decodes to different bytes than the new data: first difference at byte ${at}, sha256 ${sha256Hex(decoded)} instead of ${sha256Hex(want)}`,
    );
  }
  return want.length;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16) + '…';
}
