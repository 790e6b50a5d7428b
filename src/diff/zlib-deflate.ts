// zlib's reference deflate (madler zlib 1.2.x/1.3.x deflate.c, levels 1-9), written anew so that a
// stream zlib made can be re-made bit for bit from its inflated bytes and its parameters: the same
// hash chains, window sliding, lazy matching and block boundaries, with all input given at once and
// Z_FINISH (zlib's output does not depend on how its input was split). Raw deflate only: wrappers
// (zip, gzip, zlib) stay outside. Block coding lives in zlib-deflate-trees.ts. No I/O; keeps its
// last arrays per thread for the next stream (stateFor).
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

/** A deflater's arrays (window, hash chains) and its block coder (which holds the symbol buffer). */
interface DeflateState {
  readonly window: Uint8Array;
  readonly prev: Uint16Array;
  readonly head: Uint16Array;
  readonly coder: DeflateBlockCoder;
}

/** The last state made, per thread: a patch re-deflates thousands of streams with one setting. */
let reusable: { key: string; state: DeflateState } | undefined;

/**
 * A deflater's state for 2^wBits and memLevel that reads as a fresh one: the last one made, when
 * its sizes match (zlibDeflateRaw runs to its end or throws before another starts on this thread),
 * so thousands of small streams make no garbage. Only `head` is zeroed, as zlib's deflateReset
 * does (CLEAR_HASH): a chain only reaches `prev` entries this stream wrote, the symbol buffer is
 * written before it is read, and a match compare reads past the data only bytes this stream wrote
 * or fillWindow zeroed (high_water starts at 0 with each stream here); nor does the output depend
 * on them, as every match length is cut to the lookahead.
 */
function stateFor(wBits: number, memLevel: number): DeflateState {
  const key = `${wBits}/${memLevel}`;
  if (reusable?.key === key) {
    reusable.state.head.fill(0);
    return reusable.state;
  }
  const litBufSize = 1 << (memLevel + 6);
  const state = {
    window: new Uint8Array(2 << wBits),
    prev: new Uint16Array(1 << wBits),
    head: new Uint16Array(1 << (memLevel + 7)),
    coder: new DeflateBlockCoder(new Uint16Array(litBufSize), new Uint8Array(litBufSize)),
  };
  reusable = { key, state };
  return state;
}

/**
 * The window-filling state of one deflate (zlib's fill_window): the hot loops keep these in locals
 * and hand them over only around a fill: about once per window size of input (and on each of
 * the last MIN_LOOKAHEAD positions).
 */
interface FillState {
  nextIn: number;
  strstart: number;
  lookahead: number;
  blockStart: number;
  insert: number;
  matchStart: number;
  insH: number;
  highWater: number;
}

/** The fixed parts of one deflate that fillWindow needs. */
interface Deflater {
  readonly input: Uint8Array;
  readonly state: DeflateState;
  readonly wSize: number;
  readonly wMask: number;
  readonly maxDist: number;
  readonly hashSize: number;
  readonly hashMask: number;
  readonly hashShift: number;
}

/**
 * fill_window: slides the window down by wSize when strstart nears its end (moving the hash
 * tables), reads more input, hashes the `insert` strings left from the last match, and zeroes up to
 * MAX_MATCH bytes past the data (zlib's high_water), so a match compare never reads stale bytes.
 */
function fillWindow(d: Deflater, f: FillState): void {
  const { input, wSize, maxDist, wMask, hashMask, hashShift } = d;
  const { window, prev, head } = d.state;
  const windowSize = 2 * wSize;
  do {
    let more = windowSize - f.lookahead - f.strstart;
    if (f.strstart >= wSize + maxDist) {
      window.copyWithin(0, wSize, wSize + wSize - more);
      f.matchStart -= wSize;
      f.strstart -= wSize;
      f.blockStart -= wSize;
      if (f.insert > f.strstart) f.insert = f.strstart;
      slideHashes(head, d.hashSize, wSize);
      slideHashes(prev, wSize, wSize);
      more += wSize;
    }
    if (f.nextIn >= input.length) break;
    const n = Math.min(more, input.length - f.nextIn);
    window.set(input.subarray(f.nextIn, f.nextIn + n), f.strstart + f.lookahead);
    f.nextIn += n;
    f.lookahead += n;
    if (f.lookahead + f.insert >= MIN_MATCH) {
      let str = f.strstart - f.insert;
      let h = window[str]!;
      h = ((h << hashShift) ^ window[str + 1]!) & hashMask;
      while (f.insert) {
        h = ((h << hashShift) ^ window[str + MIN_MATCH - 1]!) & hashMask;
        prev[str & wMask] = head[h]!;
        head[h] = str;
        str++;
        f.insert--;
        if (f.lookahead + f.insert < MIN_MATCH) break;
      }
      f.insH = h;
    }
  } while (f.lookahead < MIN_LOOKAHEAD && f.nextIn < input.length);
  if (f.highWater < windowSize) {
    const curr = f.strstart + f.lookahead;
    if (f.highWater < curr) {
      const init = Math.min(windowSize - curr, MAX_MATCH);
      window.fill(0, curr, curr + init);
      f.highWater = curr + init;
    } else if (f.highWater < curr + MAX_MATCH) {
      const init = Math.min(curr + MAX_MATCH - f.highWater, windowSize - f.highWater);
      window.fill(0, f.highWater, f.highWater + init);
      f.highWater += init;
    }
  }
}

/** Codes the block from f.blockStart to `strstart` (zlib's FLUSH_BLOCK) and starts the next there. */
function flushBlock(coder: DeflateBlockCoder, window: Uint8Array, f: FillState, strstart: number, last: boolean): void {
  const blockStart = f.blockStart;
  coder.flushBlock(blockStart >= 0 ? window.subarray(blockStart) : undefined, strstart - blockStart, last);
  f.blockStart = strstart;
}

/**
 * Deflates `input` as zlib would with `params` (raw stream, Z_FINISH) into `sink`. The sink may
 * stop it by throwing (DeflateMismatch). Caller checks validDeflateParams first. The thread's
 * state lets go of the sink when done, so a kept state never keeps the sink (its output) alive.
 */
export function zlibDeflateRaw(input: Uint8Array, params: DeflateParams, sink: DeflateSink): void {
  const state = stateFor(params.windowBits, params.memLevel);
  state.coder.start(params.strategy === 4, sink);
  try {
    deflateWith(input, params, state);
  } finally {
    state.coder.detach();
  }
}

/**
 * zlib's deflate_fast (levels 1-3) or deflate_slow (4-9) over all of `input`, coding through
 * `state.coder`. The loops keep their state in locals (V8 holds them in registers; variables a
 * closure shares live in the heap) and insert strings inline (zlib's INSERT_STRING): a quarter
 * less time than with closures over shared variables. Both loops call longestMatchAt with all
 * its arguments written out: a closure over the fixed ones measured 6 % slower.
 */
function deflateWith(input: Uint8Array, params: DeflateParams, state: DeflateState): void {
  const wBits = params.windowBits;
  const wSize = 1 << wBits;
  const hashBits = params.memLevel + 7;
  const hashSize = 1 << hashBits;
  const d: Deflater = {
    input,
    state,
    wSize,
    wMask: wSize - 1,
    maxDist: wSize - MIN_LOOKAHEAD,
    hashSize,
    hashMask: hashSize - 1,
    hashShift: Math.floor((hashBits + MIN_MATCH - 1) / MIN_MATCH),
  };
  const { wMask, maxDist, hashMask, hashShift } = d;
  const { window, prev, head, coder } = d.state;
  const windowView = new DataView(window.buffer);
  const [goodMatch, maxLazy, niceLength, maxChain] = CONFIG[params.level]!;
  const filtered = params.strategy === 1;
  const f: FillState = {
    nextIn: 0,
    strstart: 0,
    lookahead: 0,
    blockStart: 0,
    insert: 0,
    matchStart: 0,
    insH: 0,
    highWater: 0,
  };

  let strstart = 0;
  let lookahead = 0;
  let matchStart = 0;
  let insH = 0;
  let matchLength = MIN_MATCH - 1;
  let prevLength = MIN_MATCH - 1;
  let matchAvailable = false;
  let prevMatch = 0;

  if (params.level <= 3) {
    // deflate_fast: no lazy matching; max_lazy bounds which matches get their strings inserted.
    for (;;) {
      if (lookahead < MIN_LOOKAHEAD) {
        f.strstart = strstart;
        f.lookahead = lookahead;
        f.matchStart = matchStart;
        f.insH = insH;
        fillWindow(d, f);
        ({ strstart, lookahead, matchStart, insH } = f);
        if (lookahead === 0) break;
      }
      let hashHead = NIL;
      if (lookahead >= MIN_MATCH) {
        insH = ((insH << hashShift) ^ window[strstart + MIN_MATCH - 1]!) & hashMask;
        hashHead = head[insH]!;
        prev[strstart & wMask] = hashHead;
        head[insH] = strstart;
      }
      if (hashHead !== NIL && strstart - hashHead <= maxDist) {
        // prevLength stays MIN_MATCH - 1 here (zlib's deflate_fast never sets it).
        matchLength = longestMatchAt(
          window,
          windowView,
          prev,
          wMask,
          strstart,
          hashHead,
          prevLength,
          matchStart,
          maxChain,
          goodMatch,
          niceLength,
          lookahead,
          maxDist,
        );
        matchStart = lastMatchStart();
      }
      let bflush: boolean;
      if (matchLength >= MIN_MATCH) {
        bflush = coder.tallyMatch(strstart - matchStart, matchLength - MIN_MATCH);
        lookahead -= matchLength;
        if (matchLength <= maxLazy && lookahead >= MIN_MATCH) {
          matchLength--;
          do {
            strstart++;
            insH = ((insH << hashShift) ^ window[strstart + MIN_MATCH - 1]!) & hashMask;
            prev[strstart & wMask] = head[insH]!;
            head[insH] = strstart;
          } while (--matchLength !== 0);
          strstart++;
        } else {
          strstart += matchLength;
          matchLength = 0;
          insH = window[strstart]!;
          insH = ((insH << hashShift) ^ window[strstart + 1]!) & hashMask;
        }
      } else {
        bflush = coder.tallyLiteral(window[strstart]!);
        lookahead--;
        strstart++;
      }
      if (bflush) flushBlock(coder, window, f, strstart, false);
    }
  } else {
    // deflate_slow: lazy matching.
    for (;;) {
      if (lookahead < MIN_LOOKAHEAD) {
        f.strstart = strstart;
        f.lookahead = lookahead;
        f.matchStart = matchStart;
        f.insH = insH;
        fillWindow(d, f);
        ({ strstart, lookahead, matchStart, insH } = f);
        if (lookahead === 0) break;
      }
      let hashHead = NIL;
      if (lookahead >= MIN_MATCH) {
        insH = ((insH << hashShift) ^ window[strstart + MIN_MATCH - 1]!) & hashMask;
        hashHead = head[insH]!;
        prev[strstart & wMask] = hashHead;
        head[insH] = strstart;
      }
      prevLength = matchLength;
      prevMatch = matchStart;
      matchLength = MIN_MATCH - 1;
      if (hashHead !== NIL && prevLength < maxLazy && strstart - hashHead <= maxDist) {
        matchLength = longestMatchAt(
          window,
          windowView,
          prev,
          wMask,
          strstart,
          hashHead,
          prevLength,
          matchStart,
          maxChain,
          goodMatch,
          niceLength,
          lookahead,
          maxDist,
        );
        matchStart = lastMatchStart();
        if (matchLength <= 5 && (filtered || (matchLength === MIN_MATCH && strstart - matchStart > TOO_FAR)))
          matchLength = MIN_MATCH - 1;
      }
      if (prevLength >= MIN_MATCH && matchLength <= prevLength) {
        const maxInsert = strstart + lookahead - MIN_MATCH;
        const bflush = coder.tallyMatch(strstart - 1 - prevMatch, prevLength - MIN_MATCH);
        lookahead -= prevLength - 1;
        prevLength -= 2;
        do {
          if (++strstart <= maxInsert) {
            insH = ((insH << hashShift) ^ window[strstart + MIN_MATCH - 1]!) & hashMask;
            prev[strstart & wMask] = head[insH]!;
            head[insH] = strstart;
          }
        } while (--prevLength !== 0);
        matchAvailable = false;
        matchLength = MIN_MATCH - 1;
        strstart++;
        if (bflush) flushBlock(coder, window, f, strstart, false);
      } else if (matchAvailable) {
        if (coder.tallyLiteral(window[strstart - 1]!)) flushBlock(coder, window, f, strstart, false);
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
  flushBlock(coder, window, f, strstart, true);
}
