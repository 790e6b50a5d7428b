// The hash chain a deflate recipe ranks a match's source on (FORMAT.md §4, Recipes): every
// position of the inflated bytes with three bytes from it, linked to the previous one of the same
// 15-bit hash, over a 32 KiB window. Shared by the recipe parser (build) and remakeDeflate
// (device), which must agree on every rank. Pure: its tables are the caller's.

/** A deflate window: no match reaches farther back. */
export const DEFLATE_WINDOW_BYTES = 32768;
/** Most chain entries a match's rank may pass: a rank is 0..MAX_MATCH_RANK. */
export const MAX_MATCH_RANK = 255;
/** Bytes of a chain's tables: 2^15 heads and a window of links, 4 bytes each. */
export const MATCH_CHAIN_TABLES_BYTES = 4 * (2 ** 15 + DEFLATE_WINDOW_BYTES);

/** A chain's tables (MATCH_CHAIN_TABLES_BYTES): one pair serves streams one after another. */
export interface MatchChainTables {
  readonly head: Int32Array;
  readonly prev: Int32Array;
}

/** Fresh tables for MatchChain, to reuse over the streams of one patch. */
export function matchChainTables(): MatchChainTables {
  return { head: new Int32Array(2 ** 15), prev: new Int32Array(DEFLATE_WINDOW_BYTES) };
}

/**
 * The hash chain both sides rank a match's source on: every position q of the inflated bytes with
 * three bytes from it, linked to the previous one of the same hash H(q) =
 * (imul(b0·2^16 + b1·2^8 + b2, 0x9E3779B1) mod 2^32) >>> 17 (15 bits), nearest first. A match at
 * p of distance d has rank r when p - d is the chain's (r+1)-th entry from p (the entries before
 * p only, collisions included). Memory: MATCH_CHAIN_TABLES_BYTES.
 */
export class MatchChain {
  private readonly head: Int32Array;
  private readonly prev: Int32Array;
  /** Positions below this are linked. */
  private linked = 0;

  /**
   * Over `tables` (reset here; only positions this chain links are read from `prev`): a chain
   * made on them later takes them over, so a chain is used only until the next one is made.
   */
  constructor(
    private readonly data: Uint8Array,
    tables: MatchChainTables = matchChainTables(),
  ) {
    this.head = tables.head.fill(-1);
    this.prev = tables.prev;
  }

  private hashAt(q: number): number {
    const d = this.data;
    return Math.imul((d[q]! << 16) | (d[q + 1]! << 8) | d[q + 2]!, 0x9e3779b1) >>> 17;
  }

  /** Links every position below `p` that has three bytes. */
  private linkBelow(p: number): void {
    const end = Math.min(p, this.data.length - 2);
    for (let q = this.linked; q < end; q++) {
      const h = this.hashAt(q);
      this.prev[q & (DEFLATE_WINDOW_BYTES - 1)] = this.head[h]!;
      this.head[h] = q;
    }
    if (end > this.linked) this.linked = end;
  }

  /** The distance of rank `rank` at `p`, or -1 when the chain ends or leaves the window first. */
  distanceAt(p: number, rank: number): number {
    if (p + 3 > this.data.length) return -1;
    this.linkBelow(p);
    let q = this.head[this.hashAt(p)]!;
    for (let i = 0; ; i++) {
      if (q < 0 || p - q > DEFLATE_WINDOW_BYTES) return -1;
      if (i === rank) return p - q;
      q = this.prev[q & (DEFLATE_WINDOW_BYTES - 1)]!;
    }
  }

  /** The rank (0..MAX_MATCH_RANK) of distance `dist` at `p`, or -1 when it has none. */
  rankOf(p: number, dist: number): number {
    if (p + 3 > this.data.length) return -1;
    this.linkBelow(p);
    let q = this.head[this.hashAt(p)]!;
    for (let i = 0; i <= MAX_MATCH_RANK; i++) {
      if (q < 0 || p - q > DEFLATE_WINDOW_BYTES) return -1;
      if (p - q === dist) return i;
      q = this.prev[q & (DEFLATE_WINDOW_BYTES - 1)]!;
    }
    return -1;
  }
}
