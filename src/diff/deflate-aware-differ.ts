// The deflate-aware differ: finds the deflate streams of the destination chunk (zip members,
// gzip, zlib), keeps those our zlib re-deflate reproduces bit for bit (the parameters are found
// by trying the common ones), and diffs their inflated bytes against the old streams of the
// source, inflated, with bsdiff-lzma; everything else is diffed as bytes in the same inner patch.
// A stream cut by the chunk's edge, or one no parameter set reproduces, stays bytes. Without a
// source it also states a floor under the replace codecs (replaceFloorBytes) from the streams found;
// with one, whether any changed stream reproduces at all (beatsByteDiffers: elsewhere its patch is
// bsdiff-lzma's plus a header).

import { createHash } from 'node:crypto';
import { BsdiffLzmaDiffer } from './bsdiff-lzma-differ.js';
import { DEFLATE_AWARE_DIFFER } from './deflate-aware-descriptor.js';
import {
  headerApplyBytes,
  readDeflateAwareHeader,
  writeDeflateAwarePatch,
  type DeflateAwareSegment,
  type OldStreamRef,
} from './deflate-aware-patch.js';
import { findDeflateMatch } from './deflate-params-search.js';
import { DEFAULT_SEARCH_LIMITS, findDeflateStreams, type FoundDeflateStream } from './deflate-streams.js';
import type { Differ } from './differ.js';
import { entropyCodedFloorBytes } from './entropy-coded-floor.js';
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
 * Streams of one container kind (zip, gzip, zlib) that no parameter set reproduces, before the
 * chunk's other streams of that kind are left as bytes untried: their producer is likely not zlib
 * (none of the 1,238 gzip members of the bench's major-64 image, Debian's documentation, is
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
   * True when some deflate stream of `target` that the source does not hold as it is re-deflates
   * bit for bit: elsewhere the patch is bsdiff-lzma's with a header. On a yes the search (both
   * sides' inflated streams, at most MAX_INFLATED_PER_SIDE_BYTES each) is kept for the diff() of
   * the same two buffers, until that diff() or until the target buffer is collected.
   */
  beatsByteDiffers(source: Uint8Array, target: Uint8Array): boolean {
    const changed = this.changedStreamsOf(source, target);
    if (changed.kept.length > 0) this.searched.set(target, { ...changed, source });
    else this.searched.delete(target);
    return changed.kept.length > 0;
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

  /** True when the patch re-deflates some stream (a deflate segment): else it is bsdiff-lzma's with a header. */
  transformsContent(patch: Uint8Array, sourceBytes: number, targetBytes: number): boolean {
    try {
      return readDeflateAwareHeader(patch, sourceBytes, targetBytes).header.segments.some((s) => s.kind === 'deflate');
    } catch {
      return false;
    }
  }

  /** What the patch's header says its apply needs (headerApplyBytes). */
  patchDecoderMemoryBytes(patch: Uint8Array, sourceBytes: number, targetBytes: number): number {
    return headerApplyBytes(readDeflateAwareHeader(patch, sourceBytes, targetBytes).header, sourceBytes);
  }

  /**
   * Segments the target into raw bytes and the reproducible deflate streams the source does not
   * hold unchanged, picks the old streams
   * (zip members of the same names first, then unnamed streams for unnamed ones, within
   * MAX_INFLATED_PER_SIDE_BYTES) and makes one bsdiff-lzma patch from source + old streams
   * inflated to the expanded target. Deterministic. Memory: both sides inflated (≤ 2 x 16 MiB)
   * plus bsdiff-lzma's on those inputs (index ≤ 12 x expanded source + 64 MiB).
   */
  async diff(source: Uint8Array, target: Uint8Array): Promise<Buffer> {
    const segments: DeflateAwareSegment[] = [];
    const parts: Uint8Array[] = [];
    let pos = 0;
    const targetDigest = digest(target);
    // The search beatsByteDiffers made of these very buffers, if it did.
    const searched = this.searched.get(target);
    this.searched.delete(target);
    const { oldStreams, kept } =
      searched?.source === source ? searched : this.changedStreamsOf(source, target, targetDigest);
    for (const { stream: s, params } of kept) {
      if (s.startByte > pos) {
        segments.push({ kind: 'raw', sizeBytes: s.startByte - pos });
        parts.push(target.subarray(pos, s.startByte));
      }
      segments.push({ kind: 'deflate', params, inflatedBytes: s.inflated.length, deflatedBytes: s.deflatedBytes });
      parts.push(s.inflated);
      pos = s.startByte + s.deflatedBytes;
    }
    if (pos < target.length) {
      segments.push({ kind: 'raw', sizeBytes: target.length - pos });
      parts.push(target.subarray(pos));
    }
    // From no source every stream was searched: the floor is the target's own (replaceFloorBytes).
    this.lastFloor = source.length === 0 ? { digest: targetDigest, floorBytes: floorOf(target, kept) } : undefined;
    const olds = chooseOldStreams(
      oldStreams,
      kept.map((k) => k.stream),
    );
    const refs: OldStreamRef[] = olds.map((s) => ({
      sourceOffsetBytes: s.startByte,
      deflatedBytes: s.deflatedBytes,
      inflatedBytes: s.inflated.length,
    }));
    const expandedSource = Buffer.concat([source, ...olds.map((s) => s.inflated)]);
    const inner = await (source.length > 0 ? this.inner : this.sourcelessInner).diff(
      expandedSource,
      Buffer.concat(parts),
    );
    return writeDeflateAwarePatch({ newSizeBytes: target.length, oldStreams: refs, segments }, inner);
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
   * The target's deflate streams our re-deflate reproduces, in target order, with their
   * parameters, skipping those whose deflated bytes are in `unchanged` (by digest) and, per
   * container kind, the rest after MAX_MISSES_BEFORE_A_HIT misses. Drops the cached search.
   */
  private reproducedStreams(target: Uint8Array, targetDigest: string, unchanged: ReadonlySet<string>): KeptStream[] {
    const kept: KeptStream[] = [];
    let preferred: DeflateParams | undefined;
    const misses = new Map<FoundDeflateStream['kind'], number>();
    const found = this.streamsOf(target, targetDigest);
    this.lastSearch = undefined;
    for (const s of found) {
      const deflated = target.subarray(s.startByte, s.startByte + s.deflatedBytes);
      if (unchanged.has(digest(deflated))) continue;
      if ((misses.get(s.kind) ?? 0) >= MAX_MISSES_BEFORE_A_HIT) continue;
      const match = findDeflateMatch(s.inflated, deflated, s.levelHint, preferred);
      if (match === undefined) {
        if (misses.get(s.kind) !== -1) misses.set(s.kind, (misses.get(s.kind) ?? 0) + 1);
        continue;
      }
      misses.set(s.kind, -1);
      preferred = match.params;
      kept.push({ stream: s, params: match.params, uncodedBytes: match.uncodedBytes });
    }
    return kept;
  }
}

/** A pair's search with a source: the source's streams, and the target's reproduced ones it does not hold. */
interface ChangedStreams {
  readonly oldStreams: FoundDeflateStream[];
  readonly kept: KeptStream[];
}

/** A reproduced stream of the target, its parameters, and its bytes in stored blocks. */
interface KeptStream {
  readonly stream: FoundDeflateStream;
  readonly params: DeflateParams;
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
