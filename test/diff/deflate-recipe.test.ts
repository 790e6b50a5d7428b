// Deflate recipes (deflate-aware segment kind 2, format 1.7): streams of any producer (our zlib's
// filtered strategy, Node's own zlib fork at every level and strategy, stored and fixed blocks)
// and randomly written ones (odd padding and trailing bits, explicit distances, matches shorter
// than the longest) are read into a recipe that re-makes them bit for bit (fast-check); hostile
// recipes (truncated, bit-flipped, over-subscribed codes, ranks past the chain, matches before
// the start) end in a RecipeError or a sink mismatch, never another error or a hang.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXPLICIT_DISTANCE, RecipeError, longestMatch, remakeDeflate } from '../../src/diff/deflate-recipe.js';
import { deflateRecipeOf } from '../../src/diff/deflate-recipe-parse.js';
import { distCode, EXTRA_DBITS, EXTRA_LBITS, lengthCode } from '../../src/diff/zlib-deflate-trees.js';
import { MatchChain, matchChainTables } from '../../src/diff/match-chain.js';
import { DeflateMismatch, DeflateSink } from '../../src/diff/deflate-sink.js';
import { writeVarint } from '../../src/diff/varint.js';
import { elfChunk, flipBit, prng, randomBytes, textLike } from '../codecs/sample-data.js';
import { filteredRaw } from '../helpers/zip-archive.js';

/** Re-makes `content` from `recipe` into a buffer of at most `capacity` bytes. */
function remake(content: Uint8Array, recipe: Uint8Array, capacity: number): Buffer {
  const sink = new DeflateSink(capacity);
  remakeDeflate(content, recipe, sink);
  return Buffer.from(sink.bytes());
}

/** Reads `deflated` into a recipe and checks that it re-makes the very bytes. */
function expectRecipeRoundTrip(deflated: Uint8Array): Uint8Array {
  const content = inflateRawSync(deflated);
  const found = deflateRecipeOf(deflated, content);
  expect(found).toBeDefined();
  expect(remake(content, found!.recipe, deflated.length).equals(Buffer.from(deflated))).toBe(true);
  return found!.recipe;
}

/** A recipe writer for hand-made streams (the layout remakeDeflate documents). */
class Recipe {
  private readonly bytes: number[] = [];
  u8(v: number): this {
    this.bytes.push(v);
    return this;
  }
  varint(v: number): this {
    const b = new Uint8Array(8);
    this.bytes.push(...b.subarray(0, writeVarint(b, 0, v)));
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

type Token = { readonly literals: number } | { readonly pos: number; readonly dist: number; readonly length: number };
type Block = { readonly stored: number; readonly pad: number } | { readonly tokens: Token[] };

/** Bits a fixed-code token takes: its symbols' code lengths and extra bits. */
function fixedTokenBits(content: Uint8Array, t: Token): number {
  if ('literals' in t) {
    let bits = 0;
    for (let i = 0; i < t.literals; i++) bits += content[i]! < 144 ? 8 : 9;
    return bits;
  }
  const lc = lengthCode(t.length);
  return (lc < 23 ? 7 : 8) + EXTRA_LBITS[lc]! + 5 + EXTRA_DBITS[distCode(t.dist - 1)]!;
}

/**
 * A random stream written straight as a recipe: fixed and stored blocks, stored padding and
 * trailing bits of any value, literals and matches given by explicit distance, often shorter than
 * the longest. Returns the content its tokens make and the recipe.
 */
function randomStream(seed: number): { content: Buffer; recipe: Uint8Array } {
  const next = prng(seed);
  const pick = (n: number) => Math.floor(next() * n);
  const content: number[] = [];
  const blocks: Block[] = [];
  for (let b = 1 + pick(4); b > 0; b--) {
    if (pick(4) === 0) {
      const stored = pick(300);
      for (let i = 0; i < stored; i++) content.push(pick(256));
      blocks.push({ stored, pad: pick(256) });
      continue;
    }
    const tokens: Token[] = [];
    for (let t = 1 + pick(60); t > 0; t--) {
      if (content.length < 4 || pick(3) === 0) {
        const literals = 1 + pick(6);
        for (let i = 0; i < literals; i++) content.push(0x61 + pick(4));
        tokens.push({ literals });
        continue;
      }
      const pos = content.length;
      const dist = 1 + pick(Math.min(pos, 40));
      const length = 3 + pick(40);
      for (let i = 0; i < length; i++) content.push(content[content.length - dist]!);
      tokens.push({ pos, dist, length });
    }
    blocks.push({ tokens });
  }
  const data = Buffer.from(content);
  const r = new Recipe();
  let bits = 0;
  let at = 0;
  blocks.forEach((block, b) => {
    const final = b === blocks.length - 1 ? 1 : 0;
    bits += 3;
    if ('stored' in block) {
      const padBits = (8 - (bits % 8)) % 8;
      r.u8(final)
        .u8(block.pad & ((1 << padBits) - 1))
        .varint(block.stored);
      bits += padBits + 32 + 8 * block.stored;
      at += block.stored;
      return;
    }
    r.u8(final | (1 << 1));
    let run = 0;
    for (const t of block.tokens) {
      bits += fixedTokenBits(data.subarray(at), t);
      if ('literals' in t) {
        run += t.literals;
        at += t.literals;
        continue;
      }
      r.varint(run)
        .varint(EXPLICIT_DISTANCE)
        .varint(t.dist - 1);
      r.varint(longestMatch(data, t.pos, t.dist) - t.length);
      run = 0;
      at += t.length;
    }
    r.varint(run).varint(0);
    bits += 7;
  });
  const trailingBits = (8 - (bits % 8)) % 8;
  r.u8(pick(256) & ((1 << trailingBits) - 1));
  return { content: data, recipe: r.done() };
}

describe('deflate recipes', () => {
  it('re-make streams of every producer at hand bit for bit', () => {
    const inputs = [textLike(70_000, 11), elfChunk(50_000), Buffer.alloc(40_000, 7), textLike(300, 12)];
    for (const data of inputs) {
      expectRecipeRoundTrip(filteredRaw(data));
      for (const level of [0, 1, 4, 6, 9])
        for (const strategy of [
          constants.Z_DEFAULT_STRATEGY,
          constants.Z_FILTERED,
          constants.Z_HUFFMAN_ONLY,
          constants.Z_RLE,
          constants.Z_FIXED,
        ])
          expectRecipeRoundTrip(deflateRawSync(data, { level, strategy }));
    }
  });

  it('re-make the streams of GNU gzip and zopfli (their own deflaters, not zlib) bit for bit', () => {
    const data = Buffer.concat([textLike(60_000, 15), elfChunk(30_000)]);
    const dir = mkdtempSync(join(tmpdir(), 'ota-recipe-'));
    const input = join(dir, 'data');
    writeFileSync(input, data);
    for (const [tool, args] of [
      ['gzip', ['-9', '-n', '-c', input]],
      ['gzip', ['-1', '-n', '-c', input]],
      ['zopfli', ['-c', input]],
    ] as const) {
      const r = spawnSync(tool, args, { maxBuffer: 64 * 1024 * 1024 });
      expect(r.error, `${tool} must be installed (.ci/run installs it)`).toBeUndefined();
      expect(r.status).toBe(0);
      // A gzip member without a name: 10 header bytes, the deflate stream, 8 trailer bytes.
      const stream = r.stdout.subarray(10, r.stdout.length - 8);
      expect(inflateRawSync(stream).equals(data)).toBe(true);
      expectRecipeRoundTrip(stream);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-make streams written with any padding, explicit distances and short matches (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        const { content, recipe } = randomStream(seed);
        const deflated = remake(content, recipe, content.length * 2 + 64);
        expect(inflateRawSync(deflated).equals(content)).toBe(true);
        expectRecipeRoundTrip(deflated);
      }),
      { numRuns: 200, seed: 20261207 },
    );
  });

  it('rank at exactly the window (32768 back) but not past it, and a chain on reused tables ranks as on fresh ones', () => {
    const data = randomBytes(40_000, 16);
    data.copy(data, 32_768, 0, 3);
    data.copy(data, 36_000, 3000, 6);
    const atWindow = new MatchChain(data).rankOf(32_768, 32_768);
    expect(atWindow).toBeGreaterThanOrEqual(0);
    expect(new MatchChain(data).distanceAt(32_768, atWindow)).toBe(32_768);
    expect(new MatchChain(data).rankOf(36_000, 33_000)).toBe(-1);
    // Tables that served a longer stream first: only the positions a chain links are read.
    const tables = matchChainTables();
    const long = new MatchChain(Buffer.alloc(70_000, 0x41), tables);
    expect(long.rankOf(69_000, 1)).toBe(0);
    const short = Buffer.from('xyzAxyzBxyz');
    const reused = new MatchChain(short, tables);
    const fresh = new MatchChain(short);
    for (const [p, d] of [
      [8, 4],
      [8, 8],
      [4, 4],
    ] as const)
      expect(reused.rankOf(p, d)).toBe(fresh.rankOf(p, d));
    expect(new MatchChain(short, tables).distanceAt(8, 1)).toBe(8);
  });

  it('rank matches nearest first on the chain, and give no rank past 255', () => {
    const data = Buffer.from('abcXabcYabcZabc');
    const chain = new MatchChain(data);
    expect(chain.rankOf(12, 4)).toBe(0);
    expect(chain.rankOf(12, 8)).toBe(1);
    expect(chain.distanceAt(12, 2)).toBe(12);
    expect(chain.distanceAt(12, 3)).toBe(-1);
    const many = Buffer.alloc(70_000, 0x41);
    const long = new MatchChain(many);
    expect(long.rankOf(40_000, 256)).toBe(255);
    expect(long.rankOf(40_000, 257)).toBe(-1);
    expect(long.distanceAt(40_000, 255)).toBe(256);
  });

  it('are not made for bytes that are no deflate stream, or inflate to other bytes', () => {
    const deflated = deflateRawSync(textLike(5000, 13));
    const content = inflateRawSync(deflated);
    expect(deflateRecipeOf(deflated.subarray(0, 100), content)).toBeUndefined();
    expect(deflateRecipeOf(deflated, content.subarray(1))).toBeUndefined();
    const other = Buffer.from(content);
    other[2000] = other[2000]! ^ 1;
    expect(deflateRecipeOf(deflated, other)).toBeUndefined();
    expect(deflateRecipeOf(Buffer.concat([deflated, Buffer.from([0])]), content)).toBeUndefined();
    expect(deflateRecipeOf(Buffer.from([0xff, 0xff, 0xff]), Buffer.alloc(0))).toBeUndefined();
  });
});

describe('remakeDeflate on hostile recipes', () => {
  const content = textLike(20_000, 14);
  const deflated = deflateRawSync(content, { level: 9 });
  const recipe = deflateRecipeOf(deflated, content)!.recipe;

  /** Runs a recipe; returns the error class name, or 'made' with the output. */
  function outcome(bad: Uint8Array, over: Uint8Array = content): string {
    try {
      remake(over, bad, deflated.length);
      return 'made';
    } catch (error) {
      if (error instanceof RecipeError) return 'RecipeError';
      if (error instanceof DeflateMismatch) return 'DeflateMismatch';
      throw error;
    }
  }

  it('refuses every truncation, and a recipe with bytes after its end', () => {
    for (let cut = 0; cut < recipe.length; cut += Math.max(1, Math.floor(recipe.length / 300)))
      expect(outcome(recipe.subarray(0, cut))).toBe('RecipeError');
    expect(outcome(Buffer.concat([recipe, Buffer.from([0])]))).toBe('RecipeError');
    // Content it does not use to the end, or runs out of.
    expect(outcome(recipe, Buffer.concat([content, Buffer.from('x')]))).toBe('RecipeError');
    // Over other content, a recipe is refused or makes other bytes (the op's hash refuses them).
    const other = Buffer.from(content);
    other[other.length - 1] = other[other.length - 1]! ^ 0x20;
    let same = false;
    try {
      same = remake(other, recipe, deflated.length).equals(deflated);
    } catch (error) {
      expect(error instanceof RecipeError || error instanceof DeflateMismatch).toBe(true);
    }
    expect(same).toBe(false);
  });

  it('never throws anything but its typed errors on bit flips', () => {
    for (let bit = 0; bit < recipe.length * 8; bit += 7)
      expect(outcome(flipBit(recipe, bit))).toMatch(/^(RecipeError|DeflateMismatch|made)$/);
  });

  it('names each malformed field', () => {
    const fixedBlock = (...tokens: number[]) => {
      const r = new Recipe().u8(1 | (1 << 1));
      for (const t of tokens) r.varint(t);
      return r.u8(0).done();
    };
    const abc = Buffer.from('abcabc');
    const cases: [string, Uint8Array, Uint8Array, RegExp][] = [
      ['block type 3', new Recipe().u8(1 | (3 << 1)).done(), abc, /type byte 7/],
      ['stored padding over its bits', new Recipe().u8(1).u8(0xff).varint(0).u8(0).done(), abc, /padding 255/],
      ['stored block past the content', new Recipe().u8(1).u8(0).varint(7).u8(0).done(), abc, /runs past/],
      ['a literal run past the content', fixedBlock(7, 0), abc, /literal run 7 is over 6/],
      ['a rank with no chain entry', fixedBlock(3, 5, 0, 0), abc, /no chain entry of rank 4/],
      ['a distance before the start', fixedBlock(3, EXPLICIT_DISTANCE, 9, 0, 0), abc, /before its start/],
      ['a match shorter than 3 bytes', fixedBlock(3, 1, 1, 0), abc, /shorter than 3/],
      ['a source field over 257', fixedBlock(3, 258), abc, /match source 258 is over 257/],
      [
        'trailing bits over those left',
        fixedBlock(6, 0).map((b, i, a) => (i === a.length - 1 ? 0xff : b)),
        abc,
        /trailing bits/,
      ],
      ['content left unused', fixedBlock(3, 0), abc, /uses 3 of the 6/],
    ];
    for (const [what, bad, over, message] of cases) {
      let error: unknown;
      try {
        remake(over, bad, 1000);
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(RecipeError);
      expect((error as Error).message, what).toMatch(message);
    }
    // Dynamic headers: HCLEN + 4 code-length lengths, then the symbols. With 16 lengths of 4, the
    // symbols 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2 have codes, 14, 1, 15 none.
    const dynamic = (hlit: number, clLengths: number[], symbols: number[]) => {
      const r = new Recipe()
        .u8(1 | (2 << 1))
        .u8(hlit)
        .u8(0)
        .u8(clLengths.length - 4);
      for (const l of clLengths) r.u8(l);
      // The count is of symbols: a 16, 17 or 18 takes its repeat count with it.
      let count = 0;
      for (let i = 0; i < symbols.length; i += symbols[i]! >= 16 ? 2 : 1) count++;
      r.varint(count);
      for (const v of symbols) r.u8(v);
      return r.done();
    };
    const sixteen = new Array<number>(16).fill(4);
    const headers: [string, Uint8Array, RegExp][] = [
      [
        '19 code-length lengths of 1',
        dynamic(0, new Array<number>(19).fill(1), []),
        /code-length code lengths are over-subscribed/,
      ],
      ['HLIT 30', dynamic(30, sixteen, []), /HLIT 30/],
      ['a code-length length of 8', dynamic(0, [8, ...sixteen.slice(1)], []), /code-length length 8 is over 7/],
      ['a repeat of no previous length', dynamic(0, sixteen, [16, 0]), /repeat with no length before it/],
      ['a symbol with no code', dynamic(0, sixteen, [1]), /symbol 1 has no code/],
      ['lengths past the total', dynamic(0, sixteen, [18, 127, 18, 127, 18, 127]), /run past 258/],
      ['too few lengths', dynamic(0, sixteen, [18, 0]), /give 11 lengths, the header states 258/],
      ['a repeat count over its bits', dynamic(0, sixteen, [17, 8]), /repeat count 8 of symbol 17 is over 7/],
    ];
    for (const [what, bad, message] of headers) expect(() => remake(abc, bad, 1000), what).toThrow(message);
  });
});
