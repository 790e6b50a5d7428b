// Reads a raw deflate stream token by token into its recipe (deflate-recipe.ts): block types,
// Huffman headers as written, literal runs and matches ranked on the MatchChain. Build side only
// (the deflate-aware differ); a recipe is kept only when remakeDeflate re-makes the stream from
// it byte for byte. Pure.

import {
  BLOCK_DYNAMIC,
  BLOCK_FIXED,
  BLOCK_STORED,
  DIST_BASE,
  EXPLICIT_DISTANCE,
  FIXED_DIST_LENGTHS,
  FIXED_LITERAL_LENGTHS,
  LENGTH_BASE,
  canonicalCodes,
  longestMatch,
  RecipeError,
  remakeDeflate,
} from './deflate-recipe.js';
import { MatchChain, matchChainTables, type MatchChainTables } from './match-chain.js';
import { DeflateMismatch, DeflateSink } from './deflate-sink.js';
import { provenDeflates } from './proven-deflates.js';
import { writeVarint } from './varint.js';
import { BL_ORDER, EXTRA_DBITS, EXTRA_LBITS } from './zlib-deflate-trees.js';

/** A stream the parser does not take: odd, or one it could not re-make exactly. */
class Unrecipeable extends Error {}

/** LSB-first bits of the deflated stream; reading past its end fails. */
class BitReader {
  private bitPos = 0;
  constructor(private readonly data: Uint8Array) {}

  get bitOffset(): number {
    return this.bitPos;
  }

  /** The next `n` (≤ 16) bits without consuming them; zeros past the end. */
  peek(n: number): number {
    const d = this.data;
    const i = this.bitPos >>> 3;
    const word = (d[i] ?? 0) | ((d[i + 1] ?? 0) << 8) | ((d[i + 2] ?? 0) << 16);
    return (word >>> (this.bitPos & 7)) & ((1 << n) - 1);
  }

  skip(n: number): void {
    this.bitPos += n;
    if (this.bitPos > this.data.length * 8) throw new Unrecipeable('stream ends inside a block');
  }

  bits(n: number): number {
    const v = this.peek(n);
    this.skip(n);
    return v;
  }
}

/** A decoding table: index by the next maxBits bits, entry symbol << 4 | length (0: no code). */
interface DecodeTable {
  readonly entries: Uint32Array;
  readonly maxBits: number;
}

/** The table of the canonical code remakeDeflate writes (canonicalCodes), so both sides agree. */
function decodeTable(lengths: Uint8Array): DecodeTable {
  const maxBits = Math.max(1, ...lengths);
  const entries = new Uint32Array(1 << maxBits);
  const codes = canonicalCodes(lengths, 'a');
  lengths.forEach((l, sym) => {
    if (l === 0) return;
    for (let i = codes[sym]!; i < entries.length; i += 1 << l) entries[i] = (sym << 4) | l;
  });
  return { entries, maxBits };
}

function decode(br: BitReader, t: DecodeTable): number {
  const e = t.entries[br.peek(t.maxBits)]!;
  if (e === 0) throw new Unrecipeable('no symbol has this code');
  br.skip(e & 15);
  return e >>> 4;
}

const FIXED_TABLES = { lit: decodeTable(FIXED_LITERAL_LENGTHS), dist: decodeTable(FIXED_DIST_LENGTHS) };

/** A growing byte buffer for the recipe. */
class RecipeWriter {
  private buf = new Uint8Array(4096);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.length++] = v;
  }

  varint(v: number): void {
    this.room(8);
    this.length = writeVarint(this.buf, this.length, v);
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** The recipe of a raw deflate stream and the bytes of its blocks not coded to fit their data. */
export interface DeflateRecipe {
  readonly recipe: Uint8Array;
  /**
   * About the bytes of its stored and fixed-code blocks (stored ones exactly, fixed ones within 2
   * bytes over), as DeflateSink.uncodedBytes counts them: what a codec may still shrink.
   */
  readonly uncodedBytes: number;
}

/**
 * The recipe that re-makes `deflated` (a whole raw deflate stream) from `inflated` (what it
 * inflates to), or undefined when the stream is malformed, inflates to other bytes, uses a
 * code a re-encoder would write otherwise (length 258 as code 284), or remakeDeflate does not
 * give back every byte of it. Memory: the recipe and the chain's `tables` (fresh ones unless
 * given: one pair serves the streams of a chunk one after another).
 */
export function deflateRecipeOf(
  deflated: Uint8Array,
  inflated: Uint8Array,
  tables: MatchChainTables = matchChainTables(),
): DeflateRecipe | undefined {
  try {
    const parsed = parse(deflated, inflated, tables);
    const sink = new DeflateSink(deflated.length, deflated);
    remakeDeflate(inflated, parsed.recipe, sink, tables);
    if (sink.length !== deflated.length) return undefined;
    provenDeflates.record(inflated, { recipe: parsed.recipe }, deflated);
    return parsed;
  } catch (error) {
    if (error instanceof Unrecipeable || error instanceof RecipeError || error instanceof DeflateMismatch)
      return undefined;
    throw error;
  }
}

function parse(deflated: Uint8Array, content: Uint8Array, tables: MatchChainTables): DeflateRecipe {
  const br = new BitReader(deflated);
  const out = new RecipeWriter();
  const chain = new MatchChain(content, tables);
  const n = content.length;
  let pos = 0;
  let uncodedBytes = 0;
  for (;;) {
    const final = br.bits(1);
    const type = br.bits(2);
    if (type > BLOCK_DYNAMIC) throw new Unrecipeable('reserved block type');
    out.u8(final | (type << 1));
    if (type === BLOCK_STORED) {
      const padBits = (8 - (br.bitOffset % 8)) % 8;
      out.u8(br.bits(padBits));
      const length = br.bits(16);
      if ((br.bits(16) ^ length) !== 0xffff) throw new Unrecipeable('stored length and complement disagree');
      out.varint(length);
      const at = br.bitOffset >>> 3;
      if (at + length > deflated.length || pos + length > n) throw new Unrecipeable('stored block runs past the end');
      for (let i = 0; i < length; i++)
        if (deflated[at + i] !== content[pos + i]) throw new Unrecipeable('content differs');
      br.skip(8 * length);
      pos += length;
      uncodedBytes += 5 + length;
    } else {
      const start = br.bitOffset;
      const codes = type === BLOCK_FIXED ? FIXED_TABLES : dynamicHeader(br, out);
      pos = blockTokens(br, out, codes, content, chain, pos);
      if (type === BLOCK_FIXED) uncodedBytes += Math.ceil((br.bitOffset - start) / 8) + 2;
    }
    if (final) break;
  }
  const trailingBits = (8 - (br.bitOffset % 8)) % 8;
  out.u8(br.bits(trailingBits));
  if (br.bitOffset !== deflated.length * 8) throw new Unrecipeable('bytes after the final block');
  if (pos !== n) throw new Unrecipeable('stream inflates to fewer bytes');
  return { recipe: out.bytes(), uncodedBytes };
}

function dynamicHeader(br: BitReader, out: RecipeWriter): { lit: DecodeTable; dist: DecodeTable } {
  const hlit = br.bits(5);
  const hdist = br.bits(5);
  const hclen = br.bits(4);
  if (hlit > 29 || hdist > 29) throw new Unrecipeable('too many codes');
  out.u8(hlit);
  out.u8(hdist);
  out.u8(hclen);
  const clLengths = new Uint8Array(19);
  for (let i = 0; i < hclen + 4; i++) {
    const l = br.bits(3);
    clLengths[BL_ORDER[i]!] = l;
    out.u8(l);
  }
  const cl = decodeTable(clLengths);
  const total = hlit + 257 + hdist + 1;
  const lengths = new Uint8Array(total);
  const symbols: number[] = [];
  let symbolCount = 0;
  let n = 0;
  while (n < total) {
    const sym = decode(br, cl);
    symbols.push(sym);
    symbolCount++;
    if (sym < 16) {
      lengths[n++] = sym;
      continue;
    }
    const [bits, base] = sym === 16 ? [2, 3] : sym === 17 ? [3, 3] : [7, 11];
    const extra = br.bits(bits);
    symbols.push(extra);
    const repeat = base + extra;
    if ((sym === 16 && n === 0) || n + repeat > total) throw new Unrecipeable('bad code-length repeat');
    lengths.fill(sym === 16 ? lengths[n - 1]! : 0, n, n + repeat);
    n += repeat;
  }
  out.varint(symbolCount);
  for (const v of symbols) out.u8(v);
  return { lit: decodeTable(lengths.subarray(0, hlit + 257)), dist: decodeTable(lengths.subarray(hlit + 257)) };
}

function blockTokens(
  br: BitReader,
  out: RecipeWriter,
  t: { lit: DecodeTable; dist: DecodeTable },
  content: Uint8Array,
  chain: MatchChain,
  start: number,
): number {
  const n = content.length;
  let pos = start;
  let run = 0;
  for (;;) {
    const sym = decode(br, t.lit);
    if (sym < 256) {
      if (pos >= n || content[pos] !== sym) throw new Unrecipeable('content differs');
      pos++;
      run++;
      continue;
    }
    out.varint(run);
    run = 0;
    if (sym === 256) {
      out.varint(0);
      return pos;
    }
    const lc = sym - 257;
    if (lc > 28) throw new Unrecipeable('reserved length code');
    const length = LENGTH_BASE[lc]! + br.bits(EXTRA_LBITS[lc]!);
    if (lc === 27 && length === 258) throw new Unrecipeable('length 258 written as code 284');
    const dc = decode(br, t.dist);
    if (dc > 29) throw new Unrecipeable('reserved distance code');
    const dist = DIST_BASE[dc]! + br.bits(EXTRA_DBITS[dc]!);
    if (dist > pos || pos + length > n) throw new Unrecipeable('match outside the content');
    for (let i = 0; i < length; i++)
      if (content[pos + i] !== content[pos + i - dist]) throw new Unrecipeable('content differs');
    const rank = chain.rankOf(pos, dist);
    out.varint(rank < 0 ? EXPLICIT_DISTANCE : rank + 1);
    if (rank < 0) out.varint(dist - 1);
    out.varint(longestMatch(content, pos, dist) - length);
    pos += length;
  }
}
