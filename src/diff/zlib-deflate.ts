// zlib's reference deflate (madler zlib 1.2.x/1.3.x deflate.c, levels 1-9), written anew so that a
// stream zlib made can be re-made bit for bit from its inflated bytes and its parameters: the same
// hash chains, window sliding, lazy matching and block boundaries, with all input given at once and
// Z_FINISH (zlib's output does not depend on how its input was split). Raw deflate only: wrappers
// (zip, gzip, zlib) stay outside. Block coding lives in zlib-deflate-trees.ts. No I/O; keeps its
// last arrays per thread for the next stream (zeroedState).
// Memory: window 2 × 2^windowBits, prev 2 × 2^windowBits, head 2 × 2^(memLevel+7), symbols
// 3 × 2^(memLevel+6) bytes (under 1 MiB at 15/9), plus the sink.

import { DeflateBlockCoder } from './zlib-deflate-trees.js';
import type { DeflateSink } from './deflate-sink.js';
import { lastMatchStart, longestMatchAt, slideHashes } from './zlib-longest-match.js';

/** zlib parameters that reproduce a stream. */
export interface DeflateParams {
  /** 1..9 (0, stored, is not supported). */
  readonly level: number;
  /** 9..15: raw window log (zlib's windowBits, or −windowBits for raw streams). */
  readonly windowBits: number;
  /** 1..9. */
  readonly memLevel: number;
  /** 0 default, 1 filtered, 4 fixed (2 huffman-only and 3 rle are not supported). */
  readonly strategy: number;
}

/** Strategy values this deflater reproduces. */
export const DEFLATE_STRATEGIES = [0, 1, 4] as const;

/** True when the parameters are ones this deflater supports (checked before any allocation). */
export function validDeflateParams(p: DeflateParams): boolean {
  const int = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  return (
    int(p.level, 1, 9) &&
    int(p.windowBits, 9, 15) &&
    int(p.memLevel, 1, 9) &&
    (DEFLATE_STRATEGIES as readonly number[]).includes(p.strategy)
  );
}

/** Bytes a deflater with these parameters allocates, besides its sink. */
export function deflateStateBytes(p: DeflateParams): number {
  return 4 * 2 ** p.windowBits + 2 * 2 ** (p.memLevel + 7) + 3 * 2 ** (p.memLevel + 6) + 8192;
}

// good_length, max_lazy, nice_length, max_chain per level (zlib's configuration_table).
const CONFIG: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 0, 0],
  [4, 4, 8, 4],
  [4, 5, 16, 8],
  [4, 6, 32, 32],
  [4, 4, 16, 16],
  [8, 16, 32, 32],
  [8, 16, 128, 128],
  [8, 32, 128, 256],
  [32, 128, 258, 1024],
  [32, 258, 258, 4096],
];
const MIN_MATCH = 3;
const MAX_MATCH = 258;
const MIN_LOOKAHEAD = MAX_MATCH + MIN_MATCH + 1;
const TOO_FAR = 4096;
const NIL = 0;

/** A deflater's large arrays (window, hash chains, symbol buffer). */
interface DeflateState {
  readonly window: Uint8Array;
  readonly prev: Uint16Array;
  readonly head: Uint16Array;
  readonly symDist: Uint16Array;
  readonly symLc: Uint8Array;
}

/** The last state made, per thread: a patch re-deflates thousands of streams with one setting. */
let reusable: { key: string; state: DeflateState } | undefined;

/**
 * All-zero arrays for a deflater of 2^wBits and memLevel, as freshly allocated ones are: the last
 * ones made, zeroed again, when their sizes match (zlibDeflateRaw runs to its end or throws
 * before another starts on this thread), so thousands of small streams make no garbage.
 */
function zeroedState(wBits: number, memLevel: number): DeflateState {
  const key = `${wBits}/${memLevel}`;
  if (reusable?.key === key) {
    for (const a of Object.values(reusable.state) as (Uint8Array | Uint16Array)[]) a.fill(0);
    return reusable.state;
  }
  const litBufSize = 1 << (memLevel + 6);
  const state = {
    window: new Uint8Array(2 << wBits),
    prev: new Uint16Array(1 << wBits),
    head: new Uint16Array(1 << (memLevel + 7)),
    symDist: new Uint16Array(litBufSize),
    symLc: new Uint8Array(litBufSize),
  };
  reusable = { key, state };
  return state;
}

/**
 * Deflates `input` as zlib would with `params` (raw stream, Z_FINISH) into `sink`. The sink may
 * stop it by throwing (DeflateMismatch). Caller checks validDeflateParams first.
 */
export function zlibDeflateRaw(input: Uint8Array, params: DeflateParams, sink: DeflateSink): void {
  const wBits = params.windowBits;
  const wSize = 1 << wBits;
  const wMask = wSize - 1;
  const maxDist = wSize - MIN_LOOKAHEAD;
  const hashBits = params.memLevel + 7;
  const hashSize = 1 << hashBits;
  const hashMask = hashSize - 1;
  const hashShift = Math.floor((hashBits + MIN_MATCH - 1) / MIN_MATCH);
  const { window, prev, head, symDist, symLc } = zeroedState(wBits, params.memLevel);
  const windowView = new DataView(window.buffer);
  const windowSize = 2 * wSize;
  const coder = new DeflateBlockCoder(symDist, symLc, params.strategy === 4, sink);
  const [goodMatch, maxLazy, niceLength, maxChain] = CONFIG[params.level]!;
  const filtered = params.strategy === 1;

  let nextIn = 0;
  let strstart = 0;
  let blockStart = 0;
  let lookahead = 0;
  let insert = 0;
  let matchLength = MIN_MATCH - 1;
  let prevLength = MIN_MATCH - 1;
  let matchAvailable = false;
  let matchStart = 0;
  let prevMatch = 0;
  let insH = 0;
  let highWater = 0;

  const updateHash = (h: number, c: number): number => ((h << hashShift) ^ c) & hashMask;
  const insertString = (str: number): number => {
    insH = updateHash(insH, window[str + MIN_MATCH - 1]!);
    const matchHead = head[insH]!;
    prev[str & wMask] = matchHead;
    head[insH] = str;
    return matchHead;
  };

  const fillWindow = (): void => {
    do {
      let more = windowSize - lookahead - strstart;
      if (strstart >= wSize + maxDist) {
        window.copyWithin(0, wSize, wSize + wSize - more);
        matchStart -= wSize;
        strstart -= wSize;
        blockStart -= wSize;
        if (insert > strstart) insert = strstart;
        slideHashes(head, hashSize, wSize);
        slideHashes(prev, wSize, wSize);
        more += wSize;
      }
      if (nextIn >= input.length) break;
      const n = Math.min(more, input.length - nextIn);
      window.set(input.subarray(nextIn, nextIn + n), strstart + lookahead);
      nextIn += n;
      lookahead += n;
      if (lookahead + insert >= MIN_MATCH) {
        let str = strstart - insert;
        insH = window[str]!;
        insH = updateHash(insH, window[str + 1]!);
        while (insert) {
          insH = updateHash(insH, window[str + MIN_MATCH - 1]!);
          prev[str & wMask] = head[insH]!;
          head[insH] = str;
          str++;
          insert--;
          if (lookahead + insert < MIN_MATCH) break;
        }
      }
    } while (lookahead < MIN_LOOKAHEAD && nextIn < input.length);
    if (highWater < windowSize) {
      const curr = strstart + lookahead;
      if (highWater < curr) {
        const init = Math.min(windowSize - curr, MAX_MATCH);
        window.fill(0, curr, curr + init);
        highWater = curr + init;
      } else if (highWater < curr + MAX_MATCH) {
        const init = Math.min(curr + MAX_MATCH - highWater, windowSize - highWater);
        window.fill(0, highWater, highWater + init);
        highWater += init;
      }
    }
  };

  const longestMatch = (start: number): number => {
    const len = longestMatchAt(
      window,
      windowView,
      prev,
      wMask,
      strstart,
      start,
      prevLength,
      matchStart,
      maxChain,
      goodMatch,
      niceLength,
      lookahead,
      maxDist,
    );
    matchStart = lastMatchStart();
    return len;
  };

  const flushBlock = (last: boolean): void => {
    coder.flushBlock(blockStart >= 0 ? window.subarray(blockStart) : undefined, strstart - blockStart, last);
    blockStart = strstart;
  };

  if (params.level <= 3) {
    // deflate_fast: no lazy matching; max_lazy bounds which matches get their strings inserted.
    for (;;) {
      if (lookahead < MIN_LOOKAHEAD) {
        fillWindow();
        if (lookahead === 0) break;
      }
      let hashHead = NIL;
      if (lookahead >= MIN_MATCH) hashHead = insertString(strstart);
      if (hashHead !== NIL && strstart - hashHead <= maxDist) matchLength = longestMatch(hashHead);
      let bflush: boolean;
      if (matchLength >= MIN_MATCH) {
        bflush = coder.tallyMatch(strstart - matchStart, matchLength - MIN_MATCH);
        lookahead -= matchLength;
        if (matchLength <= maxLazy && lookahead >= MIN_MATCH) {
          matchLength--;
          do {
            strstart++;
            insertString(strstart);
          } while (--matchLength !== 0);
          strstart++;
        } else {
          strstart += matchLength;
          matchLength = 0;
          insH = window[strstart]!;
          insH = updateHash(insH, window[strstart + 1]!);
        }
      } else {
        bflush = coder.tallyLiteral(window[strstart]!);
        lookahead--;
        strstart++;
      }
      if (bflush) flushBlock(false);
    }
  } else {
    // deflate_slow: lazy matching.
    for (;;) {
      if (lookahead < MIN_LOOKAHEAD) {
        fillWindow();
        if (lookahead === 0) break;
      }
      let hashHead = NIL;
      if (lookahead >= MIN_MATCH) hashHead = insertString(strstart);
      prevLength = matchLength;
      prevMatch = matchStart;
      matchLength = MIN_MATCH - 1;
      if (hashHead !== NIL && prevLength < maxLazy && strstart - hashHead <= maxDist) {
        matchLength = longestMatch(hashHead);
        if (matchLength <= 5 && (filtered || (matchLength === MIN_MATCH && strstart - matchStart > TOO_FAR)))
          matchLength = MIN_MATCH - 1;
      }
      if (prevLength >= MIN_MATCH && matchLength <= prevLength) {
        const maxInsert = strstart + lookahead - MIN_MATCH;
        const bflush = coder.tallyMatch(strstart - 1 - prevMatch, prevLength - MIN_MATCH);
        lookahead -= prevLength - 1;
        prevLength -= 2;
        do {
          if (++strstart <= maxInsert) insertString(strstart);
        } while (--prevLength !== 0);
        matchAvailable = false;
        matchLength = MIN_MATCH - 1;
        strstart++;
        if (bflush) flushBlock(false);
      } else if (matchAvailable) {
        if (coder.tallyLiteral(window[strstart - 1]!)) flushBlock(false);
        strstart++;
        lookahead--;
      } else {
        matchAvailable = true;
        strstart++;
        lookahead--;
      }
    }
    if (matchAvailable) {
      coder.tallyLiteral(window[strstart - 1]!);
      matchAvailable = false;
    }
  }
  flushBlock(true);
}
