// A deflate recipe (FORMAT.md §4, deflate-aware segment kind 2): what, besides its inflated bytes,
// re-makes a raw deflate stream bit for bit whatever compressor made it (zopfli, 7-Zip, gzip…):
// each block's type and Huffman header, and its tokens (literal runs and matches, a match's
// source given as its rank on the hash chain of the inflated bytes, match-chain.ts, nearly always
// small). Owns the recipe layout, the RFC 1951 code tables both sides use, and remakeDeflate, the
// bounded re-encoder the patcher runs. Pure; decode side: imports no encoder.

import type { DeflateSink } from './deflate-sink.js';
import {
  DEFLATE_WINDOW_BYTES,
  MATCH_CHAIN_TABLES_BYTES,
  MAX_MATCH_RANK,
  MatchChain,
  type MatchChainTables,
} from './match-chain.js';
import { readVarint } from './varint.js';
import { BL_ORDER, distCode, EXTRA_DBITS, EXTRA_LBITS, genCodes, lengthCode } from './zlib-deflate-trees.js';

/** Match lengths deflate codes. */
export const MIN_MATCH_BYTES = 3;
export const MAX_MATCH_BYTES = 258;
/** A token's source field: 0 ends the block, 1..256 a rank + 1, this one an explicit distance. */
export const EXPLICIT_DISTANCE = MAX_MATCH_RANK + 2;
/** Memory of a re-encode beyond its input and output: the chain's heads and links. */
export const RECIPE_STATE_BYTES = MATCH_CHAIN_TABLES_BYTES;

/** Block types, as in the deflate header. */
export const BLOCK_STORED = 0;
export const BLOCK_FIXED = 1;
export const BLOCK_DYNAMIC = 2;
/** Length codes 257..285: base length (RFC 1951 3.2.5; extra bits: EXTRA_LBITS). */
export const LENGTH_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
] as const;
/** Distance codes 0..29: base distance (extra bits: EXTRA_DBITS). */
export const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
] as const;

/** The fixed code's literal/length lengths (288) and distance lengths (30). */
export const FIXED_LITERAL_LENGTHS = Uint8Array.from({ length: 288 }, (_, s) =>
  s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8,
);
export const FIXED_DIST_LENGTHS = new Uint8Array(30).fill(5);

/** A recipe that cannot be followed: the patcher names it as a corrupt patch. */
export class RecipeError extends Error {}

/**
 * Canonical Huffman codes for `lengths` (RFC 1951 3.2.2), bit-reversed for LSB-first writing; 0
 * for unused symbols. Throws RecipeError for an over-subscribed set (one that no inflater reads).
 */
export function canonicalCodes(lengths: Uint8Array, what: string): Uint16Array {
  const count = new Uint16Array(16);
  for (const l of lengths) count[l]! += 1;
  count[0] = 0;
  let left = 1;
  for (let bits = 1; bits <= 15; bits++) {
    left = left * 2 - count[bits]!;
    if (left < 0) throw new RecipeError(`${what} code lengths are over-subscribed`);
  }
  const codes = new Uint16Array(lengths.length);
  genCodes(lengths, codes, lengths.length - 1, count);
  return codes;
}

/**
 * The longest match at `pos` of distance `dist`: how many bytes from `pos` (at most
 * MAX_MATCH_BYTES, within the content) equal those `dist` bytes before them. A recipe gives a
 * match's length as how much shorter than this it is (most often 0).
 */
export function longestMatch(content: Uint8Array, pos: number, dist: number): number {
  const end = Math.min(content.length, pos + MAX_MATCH_BYTES);
  let i = pos;
  while (i < end && content[i] === content[i - dist]) i++;
  return i - pos;
}

/** LSB-first bit output into a DeflateSink. */
class BitWriter {
  private bits = 0;
  /** Bits held in `bits` (< 8 between calls). */
  count = 0;

  constructor(private readonly sink: DeflateSink) {}

  write(value: number, n: number): void {
    this.bits |= value << this.count;
    this.count += n;
    while (this.count >= 8) {
      this.sink.put(this.bits & 0xff);
      this.bits >>>= 8;
      this.count -= 8;
    }
  }
}

/** Reads a recipe front to back; every read checks its bounds. */
class RecipeReader {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  u8(what: string): number {
    if (this.at >= this.bytes.length) throw new RecipeError(`recipe ends before ${what}`);
    return this.bytes[this.at++]!;
  }

  varint(what: string, max: number): number {
    const r = readVarint(this.bytes, this.at);
    if (typeof r === 'string') throw new RecipeError(`recipe's ${what} at byte ${this.at} is ${r}`);
    if (r.value > max) throw new RecipeError(`recipe's ${what} ${r.value} is over ${max}`);
    this.at = r.end;
    return r.value;
  }

  get done(): boolean {
    return this.at === this.bytes.length;
  }
}

/** A block's Huffman codes: literal/length and distance, with their lengths (0 = unused). */
interface BlockCodes {
  readonly litLengths: Uint8Array;
  readonly litCodes: Uint16Array;
  readonly distLengths: Uint8Array;
  readonly distCodes: Uint16Array;
}

const FIXED_CODES: BlockCodes = {
  litLengths: FIXED_LITERAL_LENGTHS,
  litCodes: canonicalCodes(FIXED_LITERAL_LENGTHS, 'fixed'),
  distLengths: FIXED_DIST_LENGTHS,
  distCodes: canonicalCodes(FIXED_DIST_LENGTHS, 'fixed'),
};

/** Writes a dynamic block's header from the recipe and returns its codes. */
function dynamicHeader(r: RecipeReader, w: BitWriter): BlockCodes {
  const hlit = r.u8('HLIT');
  const hdist = r.u8('HDIST');
  const hclen = r.u8('HCLEN');
  if (hlit > 29 || hdist > 29 || hclen > 15)
    throw new RecipeError(`dynamic header HLIT ${hlit} HDIST ${hdist} HCLEN ${hclen} outside 0..29, 0..29, 0..15`);
  w.write(hlit, 5);
  w.write(hdist, 5);
  w.write(hclen, 4);
  const clLengths = new Uint8Array(19);
  for (let i = 0; i < hclen + 4; i++) {
    const l = r.u8('a code-length length');
    if (l > 7) throw new RecipeError(`code-length length ${l} is over 7`);
    clLengths[BL_ORDER[i]!] = l;
    w.write(l, 3);
  }
  const clCodes = canonicalCodes(clLengths, 'code-length');
  const total = hlit + 257 + hdist + 1;
  const lengths = new Uint8Array(total);
  const symbols = r.varint('code-length symbol count', total);
  let n = 0;
  for (let i = 0; i < symbols; i++) {
    const sym = r.u8('a code-length symbol');
    if (sym > 18 || clLengths[sym] === 0) throw new RecipeError(`code-length symbol ${sym} has no code`);
    w.write(clCodes[sym]!, clLengths[sym]!);
    if (sym < 16) {
      if (n >= total) throw new RecipeError(`code lengths run past ${total}`);
      lengths[n++] = sym;
      continue;
    }
    const [bits, base] = sym === 16 ? [2, 3] : sym === 17 ? [3, 3] : [7, 11];
    const extra = r.u8('a repeat count');
    if (extra >= 1 << bits) throw new RecipeError(`repeat count ${extra} of symbol ${sym} is over ${(1 << bits) - 1}`);
    w.write(extra, bits);
    const repeat = base + extra;
    if (sym === 16 && n === 0) throw new RecipeError('code length repeat with no length before it');
    if (n + repeat > total) throw new RecipeError(`code lengths run past ${total}`);
    lengths.fill(sym === 16 ? lengths[n - 1]! : 0, n, n + repeat);
    n += repeat;
  }
  if (n !== total) throw new RecipeError(`code-length symbols give ${n} lengths, the header states ${total}`);
  const litLengths = lengths.subarray(0, hlit + 257);
  const distLengths = lengths.subarray(hlit + 257);
  return {
    litLengths,
    litCodes: canonicalCodes(litLengths, 'literal/length'),
    distLengths,
    distCodes: canonicalCodes(distLengths, 'distance'),
  };
}

/**
 * Re-makes a raw deflate stream from its inflated bytes `content` and its `recipe` into `sink`
 * (which stops at its capacity, or at the first byte unlike the stream it checks against).
 * Bounded: each recipe byte is read once; each token writes at least 2 bits into the sink, and a
 * match walks at most MAX_MATCH_RANK + 1 chain entries and compares at most MAX_MATCH_BYTES
 * bytes, so the work is at most ~2,000 steps per byte of the sink's capacity (zlib at level 9
 * can be driven as far); memory is RECIPE_STATE_BYTES (`tables`, when given). Throws RecipeError
 * when the recipe is malformed or does not use exactly the content; DeflateMismatch from the sink.
 *
 *   recipe := block… u8 trailing bits (those after the final block, to its last byte)
 *   block  := u8 (final | type << 1), type 0 stored, 1 fixed, 2 dynamic; then
 *     stored:  u8 padding bits (to the byte boundary), varint length (≤ 65535): content bytes
 *     dynamic: u8 HLIT, u8 HDIST, u8 HCLEN, HCLEN+4 × u8 code-length length, varint count,
 *              count × (u8 symbol 0..18, and for 16/17/18 a u8 repeat count)
 *     fixed, dynamic: tokens until the end of the block: varint literals (copied from the
 *              content), then varint k: 0 ends the block; else a match whose distance is, for
 *              k = 1..256, that of rank k - 1 on the MatchChain at the match, for k = 257 the
 *              varint after k plus 1; then varint s: the match is s bytes shorter than
 *              longestMatch at that distance (and at least 3 long)
 */
export function remakeDeflate(
  content: Uint8Array,
  recipe: Uint8Array,
  sink: DeflateSink,
  tables?: MatchChainTables,
): void {
  const r = new RecipeReader(recipe);
  const w = new BitWriter(sink);
  const chain = new MatchChain(content, tables);
  const n = content.length;
  let pos = 0;
  for (let block = 0; ; block++) {
    const head = r.u8(`block ${block}'s type`);
    const type = head >> 1;
    if (head > 5) throw new RecipeError(`block ${block} has type byte ${head} (expected 0..5)`);
    w.write(head & 1, 1);
    w.write(type, 2);
    if (type === BLOCK_STORED) {
      const padBits = (8 - w.count) % 8;
      const pad = r.u8(`block ${block}'s padding`);
      if (pad >= 1 << padBits) throw new RecipeError(`block ${block}'s padding ${pad} is over ${padBits} bits`);
      w.write(pad, padBits);
      const length = r.varint(`block ${block}'s stored length`, 65535);
      if (pos + length > n) throw new RecipeError(`stored block ${block} runs past the ${n} content bytes`);
      w.write(length, 16);
      w.write(length ^ 0xffff, 16);
      for (let i = 0; i < length; i++) sink.put(content[pos + i]!);
      pos += length;
    } else {
      const codes = type === BLOCK_FIXED ? FIXED_CODES : dynamicHeader(r, w);
      pos = tokens(r, w, codes, content, chain, pos, block);
    }
    if (head & 1) break;
  }
  const trailing = r.u8('the trailing bits');
  const trailingBits = (8 - w.count) % 8;
  if (trailing >= 1 << trailingBits)
    throw new RecipeError(`trailing bits ${trailing} are over the ${trailingBits} left`);
  w.write(trailing, trailingBits);
  if (!r.done) throw new RecipeError(`recipe has ${recipe.length - r.at} bytes after its last block`);
  if (pos !== n) throw new RecipeError(`recipe uses ${pos} of the ${n} content bytes`);
}

/** Writes one block's tokens and its end code; returns the content position after them. */
function tokens(
  r: RecipeReader,
  w: BitWriter,
  c: BlockCodes,
  content: Uint8Array,
  chain: MatchChain,
  start: number,
  block: number,
): number {
  const n = content.length;
  let pos = start;
  const emit = (sym: number, lengths: Uint8Array, codes: Uint16Array, what: string): void => {
    const l = sym < lengths.length ? lengths[sym]! : 0;
    if (l === 0) throw new RecipeError(`block ${block} uses ${what} ${sym}, which has no code`);
    w.write(codes[sym]!, l);
  };
  for (;;) {
    const literals = r.varint('a literal run', n - pos);
    for (let i = 0; i < literals; i++) emit(content[pos + i]!, c.litLengths, c.litCodes, 'literal');
    pos += literals;
    const k = r.varint('a match source', EXPLICIT_DISTANCE);
    if (k === 0) {
      emit(256, c.litLengths, c.litCodes, 'the end-of-block symbol');
      return pos;
    }
    const dist =
      k === EXPLICIT_DISTANCE
        ? r.varint('a match distance', DEFLATE_WINDOW_BYTES - 1) + 1
        : chain.distanceAt(pos, k - 1);
    if (dist < 0) throw new RecipeError(`a match at content byte ${pos} has no chain entry of rank ${k - 1}`);
    if (dist > pos) throw new RecipeError(`a match at content byte ${pos} reaches before its start`);
    const length = longestMatch(content, pos, dist) - r.varint('a match shortening', MAX_MATCH_BYTES);
    if (length < MIN_MATCH_BYTES)
      throw new RecipeError(`a match at content byte ${pos} is shorter than ${MIN_MATCH_BYTES} bytes`);
    const lc = lengthCode(length);
    emit(257 + lc, c.litLengths, c.litCodes, 'length code');
    w.write(length - LENGTH_BASE[lc]!, EXTRA_LBITS[lc]!);
    const dc = distCode(dist - 1);
    emit(dc, c.distLengths, c.distCodes, 'distance code');
    w.write(dist - DIST_BASE[dc]!, EXTRA_DBITS[dc]!);
    pos += length;
  }
}
