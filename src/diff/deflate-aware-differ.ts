// The deflate-aware differ: finds the deflate streams of the destination chunk (zip members,
// gzip, zlib), keeps those our zlib re-deflate reproduces bit for bit (the parameters are found
// by trying the common ones) or, whatever made them, their recipe re-makes (format 1.7), and
// diffs their inflated bytes against the old streams of the source, inflated, with bsdiff-lzma;
// everything else is diffed as bytes in the same inner patch. A stream cut by the chunk's edge
// stays bytes. Without a source it also states a floor under the replace codecs
// (replaceFloorBytes) from the streams found; with one, whether any changed stream is re-made at
// all (beatsByteDiffers: elsewhere its patch is bsdiff-lzma's plus a header).

import { createHash } from 'node:crypto';
import { BsdiffLzmaDiffer } from './bsdiff-lzma-differ.js';
import { DEFLATE_AWARE_DIFFER } from './deflate-aware-descriptor.js';
import { MINOR_DEFLATE_RECIPES } from '../format/package-header.js';
import {
  headerApplyBytes,
  patchUsesRecipes,
  readDeflateAwareHeader,
  writeDeflateAwarePatch,
  type DeflateAwareSegment,
  type OldStreamRef,
} from './deflate-aware-patch.js';
import { findDeflateMatch } from './deflate-params-search.js';
import { provenDeflates } from './proven-deflates.js';
import { deflateRecipeOf } from './deflate-recipe-parse.js';
import { matchChainTables } from './match-chain.js';
import { DEFAULT_SEARCH_LIMITS, findDeflateStreams, type FoundDeflateStream } from './deflate-streams.js';
import type { DiffOptions, Differ } from './differ.js';
import { entropyCodedFloorBytes } from './entropy-coded-floor.js';
import { ZstdDictDiffer } from './zstd-dict-differ.js';
import type { DeflateParams } from './zlib-deflate.js';

/**
 * Most inflated bytes taken from each side: the destination's streams and the old streams
 * chosen. Bounds the inner patch's inputs (and the patcher's memory: ~5 x both plus source).
 */
const MAX_INFLATED_PER_SIDE_BYTES = 16 * 1024 * 1024;
/** The stream search of either side: the defaults, within MAX_INFLATED_PER_SIDE_BYTES. */
const SEARCH_LIMITS = { ...DEFAULT_SEARCH_LIMITS, maxTotalInflatedBytes: MAX_INFLATED_PER_SIDE_BYTES };
/**
 * Without a source, the differ applies to a chunk only where deflate streams make up at least this
 * share of it: its patch then LZMA-codes the whole expanded chunk, for little gain over a replace
 * codec where few bytes are deflated.
 */
const MIN_SOURCELESS_DEFLATED_SHARE = 1 / 4;

/**
 * Chunks holding zip members stay at 1 MiB (with 4 MiB of source): their deflated members inflate
 * ~3-4 x, so both sides stay within MAX_INFLATED_PER_SIDE_BYTES. On the bench's apk-64 pair,
 * 2 MiB chunks (8 MiB of source) made the package 1.6 x larger: old members past the budget
 * were not inflated, and their new versions were diffed as deflated bytes.
 */
const WHOLE_CHUNK_BYTES = 1024 * 1024;

/**
 * With a source and some stream re-made from its recipe, the inner patch is made from the
 * expanded source only where it takes at least this share off a quick zstd estimate of the
 * expanded target (zstd-dict's estimate, with and without it as dictionary); elsewhere
 * from no source, with no old streams. On major-64's two chunks of new font files (546 and 490
 * streams re-made from recipes) the source took nothing off: the patch from no source was 0.3 %
 * smaller and took 2.5 s instead of 4.1 s.
 */
const MIN_SOURCE_GAIN_SHARE = 0.02;
/**
 * Where no source is used, the patch without recipes is made only when the recipe streams'
 * recipes and inflated bytes, zstd-coded together (zstd-dict's estimate), come to at least this
 * share of their deflated bytes; below it the recipes clearly win (zstd codes them some 15 % worse
 * than the patch's LZMA2, and the deflated bytes barely shrink). Measured: major-64's font chunks
 * 0.60 and 0.74, where the patch without recipes (LZMA2 of the chunk's bytes) cost 0.9 s of the
 * diff's 2.7 s; very repetitive text 1.72, where the bytes win.
 */
const RECIPES_CLEARLY_WIN_SHARE = 1;

/**
 * The quick estimate both judgements use: zstd-dict's (a level-9 frame with the source as
 * dictionary; lower levels index too little of a multi-MiB dictionary: on major-64's esbuild
 * chunk they saw no gain where level 9 saw 55 %).
 */
const ESTIMATOR = new ZstdDictDiffer();

/**
 * Streams of one container kind (zip, gzip, zlib) that no parameter set reproduces, before the
 * chunk's other streams of that kind go straight to their recipes, untried: their producer is
 * likely not zlib (none of the 1,958 woff streams of the bench's major-64 fonts, zopfli's, is
 * reproduced), and each miss costs up to 18 trial deflates. A kind with one reproduced stream is
 * always tried.
 */
const MAX_MISSES_BEFORE_A_HIT = 8;

/** deflate-aware (wire id 5). */
export class DeflateAwareDiffer implements Differ {
  readonly name = DEFLATE_AWARE_DIFFER.name;
  readonly wireId = DEFLATE_AWARE_DIFFER.wireId;
  readonly decoderMemoryBytes = DEFLATE_AWARE_DIFFER.decoderMemoryBytes;
  /**
   * Tried first on every chunk that holds a deflate stream (elsewhere it does not apply); asks
   * the planner to keep changed zip members whole in one op; without a source (a full image's
   * chunk) its patch is the expanded target LZMA-coded, far smaller than the deflated bytes.
   */
  readonly traits = {
    tier: 'lead',
    slowOnZeroRuns: false,
    keepWhole: 'zip-members',
    wholeChunkBytes: WHOLE_CHUNK_BYTES,
    withoutSource: true,
  } as const;
  private readonly inner = new BsdiffLzmaDiffer();
  /** Without a source the inner patch is the expanded target in its extra block: coded quickly. */
  private readonly sourcelessInner = new BsdiffLzmaDiffer(true);
  /** The last target searched without a source (applies, then diff, see the same chunk), by digest: its streams. */
  private lastSearch: { digest: string; streams: FoundDeflateStream[] } | undefined;
  /**
   * The search beatsByteDiffers made, by target buffer, for the diff() of the same buffers that
   * follows (in the encoding rules, with no await between): dies with the chunk's buffers.
   */
  private readonly searched = new WeakMap<Uint8Array, ChangedStreams & { readonly source: Uint8Array }>();
  /** The floor under a replace codec of the last target diffed from no source, by digest. */
  private lastFloor: { digest: string; floorBytes: number } | undefined;

  /**
   * True when `target` holds at least one whole deflate stream; without a source, when its deflate
   * streams make up at least MIN_SOURCELESS_DEFLATED_SHARE of it (elsewhere a replace codec does
   * as well for less time).
   */
  applies(source: Uint8Array, target: Uint8Array): boolean {
    if (source.length > 0) return findDeflateStreams(target, DEFAULT_SEARCH_LIMITS, 1).length > 0;
    const deflatedBytes = this.streamsOf(target).reduce((sum, s) => sum + s.deflatedBytes, 0);
    const applies = deflatedBytes > 0 && deflatedBytes >= target.length * MIN_SOURCELESS_DEFLATED_SHARE;
    // diff() follows only a yes: a no must not keep the inflated streams alive until the next chunk.
    if (!applies) this.lastSearch = undefined;
    return applies;
  }

  /**
   * True when some deflate stream of `target` that the source does not hold as it is is re-made
   * bit for bit (by zlib parameters, or by recipe where the targets read format 1.7): elsewhere
   * the patch is bsdiff-lzma's with a header. On a yes the search (both sides' inflated streams,
   * at most MAX_INFLATED_PER_SIDE_BYTES each) is kept for the diff() of the same two buffers,
   * until that diff() or until the target buffer is collected.
   */
  beatsByteDiffers(source: Uint8Array, target: Uint8Array, options: DiffOptions = {}): boolean {
    const changed = this.changedStreamsOf(source, target);
    const beats = (readsRecipes(options) ? changed.kept : byParams(changed.kept)).length > 0;
    if (beats) this.searched.set(target, { ...changed, source });
    else this.searched.delete(target);
    return beats;
  }

  /** The source's streams, and the target's reproduced ones the source does not hold unchanged. */
  private changedStreamsOf(source: Uint8Array, target: Uint8Array, targetDigest = digest(target)): ChangedStreams {
    // A stream whose deflated bytes the source holds as they are costs the byte differ next to
    // nothing: only changed streams are worth inflating.
    const oldStreams = findDeflateStreams(source, SEARCH_LIMITS);
    const unchanged = new Set(
      oldStreams.map((s) => digest(source.subarray(s.startByte, s.startByte + s.deflatedBytes))),
    );
    return { oldStreams, kept: this.reproducedStreams(target, targetDigest, unchanged) };
  }

  /** The target's deflate streams (within MAX_INFLATED_PER_SIDE_BYTES), searched once per chunk. */
  private streamsOf(target: Uint8Array, key = digest(target)): FoundDeflateStream[] {
    if (this.lastSearch?.digest !== key) {
      this.lastSearch = { digest: key, streams: findDeflateStreams(target, SEARCH_LIMITS) };
    }
    return this.lastSearch.streams;
  }

  /** True when the patch re-makes some stream (a deflate or recipe segment): else it is bsdiff-lzma's with a header. */
  transformsContent(patch: Uint8Array, sourceBytes: number, targetBytes: number): boolean {
    try {
      return readDeflateAwareHeader(patch, sourceBytes, targetBytes).header.segments.some((s) => s.kind !== 'raw');
    } catch {
      return false;
    }
  }

  /** A patch that re-makes a stream from a recipe needs format 1.7. */
  patchFormatMinor(patch: Uint8Array): number {
    return patchUsesRecipes(patch) ? MINOR_DEFLATE_RECIPES : 0;
  }

  /** What the patch's header says its apply needs (headerApplyBytes). */
  patchDecoderMemoryBytes(patch: Uint8Array, sourceBytes: number, targetBytes: number): number {
    return headerApplyBytes(readDeflateAwareHeader(patch, sourceBytes, targetBytes).header, sourceBytes);
  }

  /**
   * Segments the target into raw bytes and the deflate streams the source does not hold
   * unchanged that we re-make (by zlib parameters, or by recipe where the targets read format
   * 1.7), picks the old streams (zip members of the same names first, then unnamed streams for
   * unnamed ones, within MAX_INFLATED_PER_SIDE_BYTES) and makes one bsdiff-lzma patch from source
   * + old streams inflated to the expanded target (with some recipe, from no source where it
   * takes under MIN_SOURCE_GAIN_SHARE off a quick estimate). With some recipe, also the patch
   * without recipes (with or without a source): the smaller is kept. Deterministic. Memory:
   * both sides inflated (≤ 2 x 16 MiB), bsdiff-lzma's on those inputs (index ≤ 12 x expanded
   * source + 64 MiB) and the estimate's zstd level-9 context (≈ 10 x its window, ≤ 2^26).
   */
  async diff(source: Uint8Array, target: Uint8Array, options: DiffOptions = {}): Promise<Buffer> {
    const targetDigest = digest(target);
    // The search beatsByteDiffers made of these very buffers, if it did.
    const searched = this.searched.get(target);
    this.searched.delete(target);
    const changed = searched?.source === source ? searched : this.changedStreamsOf(source, target, targetDigest);
    // From no source every stream was searched: the floor is the target's own (replaceFloorBytes),
    // whatever the targets read.
    this.lastFloor =
      source.length === 0 ? { digest: targetDigest, floorBytes: floorOf(target, changed.kept) } : undefined;
    const asBytes = byParams(changed.kept);
    // Targets that read no recipe (format 1.7) keep those streams as bytes.
    // Without recipes the source is used as it always was (judging it costs two zstd passes with
    // a dictionary of up to 20 MiB: +0.4 s on apk-64, where it always helps).
    if (!readsRecipes(options) || asBytes.length === changed.kept.length)
      return (await this.patchOf(source, target, changed.oldStreams, asBytes, true)).patch;
    // A recipe pays for its tokens: where they are most of a stream (highly repetitive data), or
    // where the stream's old version is in the source (its recipe is not in the expanded source),
    // the stream's bytes may cost less. The smaller of the two patches is kept (on a tie, the one
    // older targets read too); whether the source helps is judged once, on the first.
    const withRecipes = await this.patchOf(source, target, changed.oldStreams, changed.kept);
    // From no source, the patch without them only matches what the REPLACE codecs try anyway.
    if (!withRecipes.usedSource && (await recipesClearlyWin(changed.kept))) return withRecipes.patch;
    const bytes = await this.patchOf(source, target, changed.oldStreams, asBytes, withRecipes.usedSource);
    return bytes.patch.length <= withRecipes.patch.length ? bytes.patch : withRecipes.patch;
  }

  /**
   * The patch that re-makes the `kept` streams and diffs the rest of `target` as bytes, from the
   * expanded source unless `useSource` is false or (undefined) it does not help (sourceHelps).
   */
  private async patchOf(
    source: Uint8Array,
    target: Uint8Array,
    oldStreams: readonly FoundDeflateStream[],
    kept: readonly KeptStream[],
    useSource?: boolean,
  ): Promise<{ patch: Buffer; usedSource: boolean }> {
    const segments: DeflateAwareSegment[] = [];
    const parts: Uint8Array[] = [];
    const recipes: Uint8Array[] = [];
    let pos = 0;
    for (const { stream: s, remake } of kept) {
      if (s.startByte > pos) {
        segments.push({ kind: 'raw', sizeBytes: s.startByte - pos });
        parts.push(target.subarray(pos, s.startByte));
      }
      const sizes = { inflatedBytes: s.inflated.length, deflatedBytes: s.deflatedBytes };
      if (remake.params !== undefined) segments.push({ kind: 'deflate', params: remake.params, ...sizes });
      else {
        segments.push({ kind: 'recipe', recipeBytes: remake.recipe.length, ...sizes });
        recipes.push(remake.recipe);
      }
      parts.push(s.inflated);
      pos = s.startByte + s.deflatedBytes;
    }
    if (pos < target.length) {
      segments.push({ kind: 'raw', sizeBytes: target.length - pos });
      parts.push(target.subarray(pos));
    }
    // The recipes follow the raw and inflated bytes: kept together, LZMA codes them ~2 % smaller.
    parts.push(...recipes);
    const expandedTarget = Buffer.concat(parts);
    const chosen = chooseOldStreams(
      oldStreams,
      kept.map((k) => k.stream),
    );
    // Judged on the expanded source (unless told): without it, no old streams either.
    let expandedSource =
      source.length > 0 && useSource !== false
        ? Buffer.concat([source, ...chosen.map((s) => s.inflated)])
        : Buffer.alloc(0);
    const usedSource = expandedSource.length > 0 && (useSource ?? (await sourceHelps(expandedSource, expandedTarget)));
    if (!usedSource) expandedSource = Buffer.alloc(0);
    const olds = usedSource ? chosen : [];
    const refs: OldStreamRef[] = olds.map((s) => ({
      sourceOffsetBytes: s.startByte,
      deflatedBytes: s.deflatedBytes,
      inflatedBytes: s.inflated.length,
    }));
    // From no source the inner patch is one control tuple, the expanded target its extra block,
    // which reads nothing of the op's source: valid whatever the source holds.
    const inner = await (source.length > 0 ? this.inner : this.sourcelessInner).diff(expandedSource, expandedTarget);
    return {
      patch: writeDeflateAwarePatch({ newSizeBytes: target.length, oldStreams: refs, segments }, inner),
      usedSource,
    };
  }

  /**
   * Without a source: the Huffman-coded bytes of the target's reproducible deflate streams and the
   * near-uniform windows between them (stored compressed files), each piece counted once, less
   * what a codec may still take off them (entropy-coded-floor.ts): an empirical floor, with a
   * margin over what xz -9e and zstd -19 --long achieved on the bench's apk-64 chunks. Free right
   * after diff() of the same target from no source; else the stream and parameter search is run
   * again (no LZMA).
   */
  replaceFloorBytes(target: Uint8Array): number {
    const key = digest(target);
    if (this.lastFloor?.digest === key) return this.lastFloor.floorBytes;
    const floorBytes = floorOf(target, this.reproducedStreams(target, key, new Set()));
    this.lastFloor = { digest: key, floorBytes };
    return floorBytes;
  }

  /**
   * The target's deflate streams we re-make bit for bit, in target order, each with how: zlib
   * parameters where some set reproduces it (4 bytes), else its recipe (deflate-recipe.ts, any
   * compressor). Skips those whose deflated bytes are in `unchanged` (by digest); per container
   * kind, after MAX_MISSES_BEFORE_A_HIT streams no parameter set reproduces and none that one
   * did, the parameter trials stop and the rest go straight to their recipes. Drops the cached
   * search.
   */
  private reproducedStreams(target: Uint8Array, targetDigest: string, unchanged: ReadonlySet<string>): KeptStream[] {
    // The trials below are proven for this chunk: its self-check reuses their bytes (proven-deflates.ts).
    provenDeflates.begin(target);
    const kept: KeptStream[] = [];
    let preferred: DeflateParams | undefined;
    const misses = new Map<FoundDeflateStream['kind'], number>();
    const found = this.streamsOf(target, targetDigest);
    this.lastSearch = undefined;
    const tables = matchChainTables();
    for (const s of found) {
      const deflated = target.subarray(s.startByte, s.startByte + s.deflatedBytes);
      if (unchanged.has(digest(deflated))) continue;
      const match =
        (misses.get(s.kind) ?? 0) >= MAX_MISSES_BEFORE_A_HIT
          ? undefined
          : findDeflateMatch(s.inflated, deflated, s.levelHint, preferred);
      if (match !== undefined) {
        misses.set(s.kind, -1);
        preferred = match.params;
        kept.push({ stream: s, remake: { params: match.params }, uncodedBytes: match.uncodedBytes });
        continue;
      }
      if (misses.get(s.kind) !== -1) misses.set(s.kind, (misses.get(s.kind) ?? 0) + 1);
      const recipe = deflateRecipeOf(deflated, s.inflated, tables);
      if (recipe !== undefined)
        kept.push({ stream: s, remake: { recipe: recipe.recipe }, uncodedBytes: recipe.uncodedBytes });
    }
    return kept;
  }
}

/** Whether the targets read recipes (format 1.7). */
function readsRecipes(options: DiffOptions): boolean {
  return (options.maxFormatMinor ?? Infinity) >= MINOR_DEFLATE_RECIPES;
}

/** The kept streams re-made by zlib parameters (those a target reading format 1.6 at most can use). */
function byParams(kept: readonly KeptStream[]): KeptStream[] {
  return kept.filter((k) => k.remake.params !== undefined);
}

/** A pair's search with a source: the source's streams, and the target's reproduced ones it does not hold. */
interface ChangedStreams {
  readonly oldStreams: FoundDeflateStream[];
  readonly kept: KeptStream[];
}

/** A stream of the target we re-make, how (zlib parameters or a recipe), and its bytes in stored blocks. */
interface KeptStream {
  readonly stream: FoundDeflateStream;
  readonly remake:
    | { readonly params: DeflateParams; readonly recipe?: undefined }
    | { readonly recipe: Uint8Array; readonly params?: undefined };
  readonly uncodedBytes: number;
}

/** entropyCodedFloorBytes of `target` over the streams kept. */
function floorOf(target: Uint8Array, kept: readonly KeptStream[]): number {
  return entropyCodedFloorBytes(
    target,
    kept.map((k) => ({
      startByte: k.stream.startByte,
      deflatedBytes: k.stream.deflatedBytes,
      uncodedBytes: k.uncodedBytes,
    })),
  );
}

/** Whether the recipe streams of `kept` code, with their inflated bytes, under RECIPES_CLEARLY_WIN_SHARE of their deflated bytes. */
async function recipesClearlyWin(kept: readonly KeptStream[]): Promise<boolean> {
  const byRecipe = kept.filter((k) => k.remake.recipe !== undefined);
  const deflatedBytes = byRecipe.reduce((n, k) => n + k.stream.deflatedBytes, 0);
  const coded = Buffer.concat([...byRecipe.map((k) => k.stream.inflated), ...byRecipe.map((k) => k.remake.recipe!)]);
  return (await ESTIMATOR.estimate!(new Uint8Array(0), coded)) < deflatedBytes * RECIPES_CLEARLY_WIN_SHARE;
}

/** Whether `source` takes at least MIN_SOURCE_GAIN_SHARE off the quick estimate of `target`. */
async function sourceHelps(source: Uint8Array, target: Uint8Array): Promise<boolean> {
  const alone = await ESTIMATOR.estimate!(new Uint8Array(0), target);
  return (await ESTIMATOR.estimate!(source, target)) <= alone * (1 - MIN_SOURCE_GAIN_SHARE);
}

function digest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/**
 * The old streams worth inflating for `wanted`: zip members whose name a kept stream has, then,
 * when some kept stream has no name (gzip, zlib), the unnamed old streams; in source order,
 * within MAX_INFLATED_PER_SIDE_BYTES.
 */
function chooseOldStreams(
  old: readonly FoundDeflateStream[],
  wanted: readonly FoundDeflateStream[],
): FoundDeflateStream[] {
  if (wanted.length === 0) return [];
  const names = new Set(wanted.flatMap((s) => (s.name === undefined ? [] : [s.name])));
  const unnamedWanted = wanted.some((s) => s.name === undefined);
  const chosen: FoundDeflateStream[] = [];
  let total = 0;
  for (const pass of [true, false]) {
    for (const s of old) {
      const fits = pass ? s.name !== undefined && names.has(s.name) : s.name === undefined && unnamedWanted;
      if (!fits || total + s.inflated.length > MAX_INFLATED_PER_SIDE_BYTES) continue;
      chosen.push(s);
      total += s.inflated.length;
    }
  }
  return chosen.sort((a, b) => a.startByte - b.startByte);
}
