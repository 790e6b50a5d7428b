// Finds the zlib parameters that re-make a deflate stream bit for bit from its inflated bytes, by
// re-deflating with the common settings (levels 1-9, memLevel 8 and 9, windowBits 15, default
// strategy) and comparing as the bytes come: a wrong setting usually departs in its first block,
// so a miss costs little. Build side only (the deflate-aware differ).

import { DeflateMismatch, DeflateSink } from './deflate-sink.js';
import { provenDeflates } from './proven-deflates.js';
import type { FoundDeflateStream } from './deflate-streams.js';
import { zlibDeflateRaw, type DeflateParams } from './zlib-deflate.js';

/** Levels to try first for each level class a header states. */
const LEVEL_ORDER: Record<NonNullable<FoundDeflateStream['levelHint']> | 'none', readonly number[]> = {
  none: [6, 9, 1, 5, 4, 7, 8, 3, 2],
  default: [6, 5, 9, 1, 4, 7, 8, 3, 2],
  max: [9, 8, 7, 6, 5, 4, 1, 3, 2],
  fast: [2, 3, 4, 5, 1, 6, 9, 7, 8],
  fastest: [1, 2, 3, 6, 9, 4, 5, 7, 8],
};
const MEM_LEVELS = [8, 9] as const;

/** True when `params` re-deflate `inflated` into exactly `deflated`. */
export function reproduces(inflated: Uint8Array, deflated: Uint8Array, params: DeflateParams): boolean {
  return uncodedBytesIfReproduced(inflated, deflated, params) !== undefined;
}

/**
 * When `params` re-deflate `inflated` into exactly `deflated`: the bytes of its stored and
 * fixed-code blocks (DeflateSink.uncodedBytes; the rest is coded by trees fitted to it). Else undefined.
 */
function uncodedBytesIfReproduced(
  inflated: Uint8Array,
  deflated: Uint8Array,
  params: DeflateParams,
): number | undefined {
  const sink = new DeflateSink(deflated.length, deflated);
  try {
    zlibDeflateRaw(inflated, params, sink);
  } catch (error) {
    if (error instanceof DeflateMismatch) return undefined;
    throw error;
  }
  if (sink.length !== deflated.length) return undefined;
  provenDeflates.record(inflated, { params }, deflated);
  return sink.uncodedBytes;
}

/** Parameters that reproduce a stream, and how much of it is not coded by trees fitted to it. */
export interface DeflateMatch {
  readonly params: DeflateParams;
  /** Bytes of the stream in stored or fixed-code blocks (DeflateSink.uncodedBytes). */
  readonly uncodedBytes: number;
}

/**
 * The first parameter set that reproduces `deflated` (the stream's bytes) from `inflated`, trying
 * `preferred` (e.g. what reproduced the previous stream of the same archive) first, then the
 * levels in the order the header's hint suggests, memLevel 8 before 9. Undefined when none does.
 * (The differ calls findDeflateMatch; this form is the tests'.)
 */
export function findDeflateParams(
  inflated: Uint8Array,
  deflated: Uint8Array,
  hint: FoundDeflateStream['levelHint'],
  preferred?: DeflateParams,
): DeflateParams | undefined {
  return findDeflateMatch(inflated, deflated, hint, preferred)?.params;
}

/** findDeflateParams, with the uncoded bytes of the stream the reproducing trial saw. */
export function findDeflateMatch(
  inflated: Uint8Array,
  deflated: Uint8Array,
  hint: FoundDeflateStream['levelHint'],
  preferred?: DeflateParams,
): DeflateMatch | undefined {
  const tries: DeflateParams[] = preferred ? [preferred] : [];
  for (const memLevel of MEM_LEVELS)
    for (const level of LEVEL_ORDER[hint ?? 'none']) tries.push({ level, windowBits: 15, memLevel, strategy: 0 });
  const seen = new Set<string>();
  for (const params of tries) {
    const key = `${params.level}/${params.windowBits}/${params.memLevel}/${params.strategy}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const uncodedBytes = uncodedBytesIfReproduced(inflated, deflated, params);
    if (uncodedBytes !== undefined) return { params, uncodedBytes };
  }
  return undefined;
}
