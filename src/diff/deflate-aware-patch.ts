// The deflate-aware patch layout (FORMAT.md §4, differ id 5): the destination as segments, raw
// bytes or deflate streams re-made with recorded zlib parameters or (1.7) from recipes, all taken
// from one "expanded target" that an inner bsdiff-lzma patch makes from the "expanded source"
// (the source followed by the old deflate streams it names, inflated). Owns the header, its checks, the memory bound
// and the capped apply. Decode side: imports no differ.
//
//   "DEFLDIFF"  varint newSize  varint K  K × (varint srcOffset, varint deflated, varint inflated)
//   varint N  N × (u8 0, varint rawBytes | u8 1, u8 level, u8 windowBits, u8 memLevel,
//                  u8 strategy, varint inflated, varint deflated
//                  | u8 2, varint recipe, varint inflated, varint deflated)   then the bsdiff-lzma patch
//
// Kind 2 (format 1.7) re-makes a stream from a recipe (deflate-recipe.ts) whatever made it; the
// recipes follow the raw and inflated bytes in the expanded target, in segment order.

import { inflateRawSync } from 'node:zlib';
import { blobDecodeError, describeCause } from '../codecs/codec-errors.js';
import { hexBytes } from '../errors/ota-error.js';
import { applyBsdiffLzmaPatch, bsdiffLzmaApplyBytes } from './bsdiff-lzma-patch.js';
import { RECIPE_STATE_BYTES, RecipeError, remakeDeflate } from './deflate-recipe.js';
import { matchChainTables } from './match-chain.js';
import { DeflateMismatch, DeflateSink } from './deflate-sink.js';
import type { ProvenRemakes, Remake } from './proven-deflates.js';
import { readVarint, writeVarint } from './varint.js';
import { lend, type PatchBuffers } from './patcher.js';
import { deflateStateBytes, validDeflateParams, zlibDeflateRaw, type DeflateParams } from './zlib-deflate.js';

const WHAT = 'deflate-aware';
/** The 8 magic bytes. */
export const DEFLATE_AWARE_MAGIC = 'DEFLDIFF';
/** Most old streams a patch may name. */
export const MAX_OLD_STREAMS = 4096;
/** Most segments a patch may have. */
export const MAX_SEGMENTS = 65536;
/** Most bytes the old streams may inflate to together, and the most the expanded target may hold. */
export const MAX_EXPANDED_BYTES = 2 ** 30;
const SEGMENT_RAW = 0;
const SEGMENT_DEFLATE = 1;
const SEGMENT_RECIPE = 2;
/** The largest re-deflate's state (zlib's at level 9); a patch with recipes also holds RECIPE_STATE_BYTES. */
const LARGEST_DEFLATER = deflateStateBytes({ level: 9, windowBits: 15, memLevel: 9, strategy: 0 });

/** An old deflate stream in the source: where it is and what it inflates to. */
export interface OldStreamRef {
  readonly sourceOffsetBytes: number;
  readonly deflatedBytes: number;
  readonly inflatedBytes: number;
}

/** One piece of the destination, in order. */
export type DeflateAwareSegment =
  | { readonly kind: 'raw'; readonly sizeBytes: number }
  | {
      readonly kind: 'deflate';
      readonly params: DeflateParams;
      readonly inflatedBytes: number;
      readonly deflatedBytes: number;
    }
  | {
      /** A stream re-made from its recipe (format 1.7), whatever compressor made it. */
      readonly kind: 'recipe';
      readonly recipeBytes: number;
      readonly inflatedBytes: number;
      readonly deflatedBytes: number;
    };

/** A patch's header. */
export interface DeflateAwareHeader {
  readonly newSizeBytes: number;
  readonly oldStreams: readonly OldStreamRef[];
  readonly segments: readonly DeflateAwareSegment[];
}

/** Bytes of the expanded target the segments take (raw bytes, inflated streams, then recipes). */
export function expandedTargetBytes(segments: readonly DeflateAwareSegment[]): number {
  return segments.reduce(
    (n, s) => n + (s.kind === 'raw' ? s.sizeBytes : s.inflatedBytes + (s.kind === 'recipe' ? s.recipeBytes : 0)),
    0,
  );
}

/** True when some segment of a well-formed `patch` is re-made from a recipe: it needs format 1.7. */
export function patchUsesRecipes(patch: Uint8Array): boolean {
  const newSize = readVarint(patch, 8);
  if (typeof newSize === 'string') return false;
  try {
    return readDeflateAwareHeader(patch, Infinity, newSize.value).header.segments.some((s) => s.kind === 'recipe');
  } catch {
    return false;
  }
}

/**
 * Peak memory of applying a patch: the source, the expanded source (source + old streams
 * inflated) with one inflated stream in flight, the inner bsdiff-lzma apply into the expanded
 * target, the output, one re-deflated stream and the largest deflater's state, and with
 * `recipes` the recipe chain's tables too (both may be held at once).
 */
export function deflateAwareApplyBytes(
  sourceBytes: number,
  oldInflatedBytes: number,
  expandedBytes: number,
  newSizeBytes: number,
  recipes = false,
): number {
  const expandedSource = sourceBytes + oldInflatedBytes;
  return (
    sourceBytes +
    oldInflatedBytes +
    bsdiffLzmaApplyBytes(expandedSource, expandedBytes) +
    2 * newSizeBytes +
    LARGEST_DEFLATER +
    (recipes ? RECIPE_STATE_BYTES : 0)
  );
}

/** Memory a patch with this header needs against a source of `sourceBytes`. */
export function headerApplyBytes(h: DeflateAwareHeader, sourceBytes: number): number {
  const oldInflated = h.oldStreams.reduce((n, s) => n + s.inflatedBytes, 0);
  const recipes = h.segments.some((s) => s.kind === 'recipe');
  return deflateAwareApplyBytes(sourceBytes, oldInflated, expandedTargetBytes(h.segments), h.newSizeBytes, recipes);
}

/** Writes a patch: its header, then the inner bsdiff-lzma patch. */
export function writeDeflateAwarePatch(h: DeflateAwareHeader, inner: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 10 * (2 + 3 * h.oldStreams.length) + h.segments.length * (5 + 20));
  out.write(DEFLATE_AWARE_MAGIC, 0, 'latin1');
  let at = writeVarint(out, 8, h.newSizeBytes);
  at = writeVarint(out, at, h.oldStreams.length);
  for (const s of h.oldStreams) {
    at = writeVarint(out, at, s.sourceOffsetBytes);
    at = writeVarint(out, at, s.deflatedBytes);
    at = writeVarint(out, at, s.inflatedBytes);
  }
  at = writeVarint(out, at, h.segments.length);
  for (const s of h.segments) {
    if (s.kind === 'raw') {
      out[at++] = SEGMENT_RAW;
      at = writeVarint(out, at, s.sizeBytes);
      continue;
    }
    if (s.kind === 'recipe') {
      out[at++] = SEGMENT_RECIPE;
      for (const v of [s.recipeBytes, s.inflatedBytes, s.deflatedBytes]) at = writeVarint(out, at, v);
      continue;
    }
    out[at++] = SEGMENT_DEFLATE;
    for (const v of [s.params.level, s.params.windowBits, s.params.memLevel, s.params.strategy]) out[at++] = v;
    at = writeVarint(out, at, s.inflatedBytes);
    at = writeVarint(out, at, s.deflatedBytes);
  }
  return Buffer.concat([out.subarray(0, at), inner]);
}

/**
 * Reads and checks a header against the op: magic, new size as expected, counts within
 * MAX_OLD_STREAMS / MAX_SEGMENTS, every old stream inside the source, inflated totals and the
 * expanded target within MAX_EXPANDED_BYTES, segment kinds known, zlib parameters in range,
 * segment outputs adding up to the new size. Returns the header and where the inner patch starts.
 */
export function readDeflateAwareHeader(
  patch: Uint8Array,
  sourceBytes: number,
  expectedSizeBytes: number,
): { header: DeflateAwareHeader; innerOffsetBytes: number } {
  if (patch.length < 8 || Buffer.from(patch.buffer, patch.byteOffset, 8).toString('latin1') !== DEFLATE_AWARE_MAGIC)
    throw fail(`bad magic at offset 0: expected "${DEFLATE_AWARE_MAGIC}", got ${hexBytes(patch.subarray(0, 8))}`);
  let at = 8;
  const varint = (field: string): number => {
    const read = readVarint(patch, at);
    if (typeof read === 'string') throw fail(`${field} at offset ${at} is ${read}`);
    at = read.end;
    return read.value;
  };
  const byte = (field: string): number => {
    if (at >= patch.length) throw fail(`header ends before ${field}`);
    return patch[at++] as number;
  };
  const newSizeBytes = varint('new size');
  if (newSizeBytes !== expectedSizeBytes)
    throw fail(`patch makes ${newSizeBytes} bytes, expected ${expectedSizeBytes}`);
  const streamCount = varint('old stream count');
  if (streamCount > MAX_OLD_STREAMS) throw fail(`${streamCount} old streams, at most ${MAX_OLD_STREAMS} allowed`);
  const oldStreams: OldStreamRef[] = [];
  let oldInflated = 0;
  for (let i = 0; i < streamCount; i++) {
    const sourceOffsetBytes = varint(`old stream ${i} offset`);
    const deflatedBytes = varint(`old stream ${i} deflated length`);
    const inflatedBytes = varint(`old stream ${i} inflated length`);
    if (deflatedBytes === 0 || sourceOffsetBytes + deflatedBytes > sourceBytes)
      throw fail(`old stream ${i} at ${sourceOffsetBytes}+${deflatedBytes} is outside the ${sourceBytes}-byte source`);
    oldInflated += inflatedBytes;
    if (oldInflated > MAX_EXPANDED_BYTES)
      throw fail(`old streams inflate to more than the ${MAX_EXPANDED_BYTES} bytes allowed`);
    oldStreams.push({ sourceOffsetBytes, deflatedBytes, inflatedBytes });
  }
  const segmentCount = varint('segment count');
  if (segmentCount > MAX_SEGMENTS) throw fail(`${segmentCount} segments, at most ${MAX_SEGMENTS} allowed`);
  const segments: DeflateAwareSegment[] = [];
  let outBytes = 0;
  let expanded = 0;
  for (let i = 0; i < segmentCount; i++) {
    const kind = byte(`segment ${i}'s kind`);
    if (kind === SEGMENT_RAW) {
      const sizeBytes = varint(`segment ${i} length`);
      if (sizeBytes === 0) throw fail(`raw segment ${i} is empty`);
      segments.push({ kind: 'raw', sizeBytes });
      outBytes += sizeBytes;
      expanded += sizeBytes;
    } else if (kind === SEGMENT_DEFLATE) {
      const params = {
        level: byte(`segment ${i}'s level`),
        windowBits: byte(`segment ${i}'s windowBits`),
        memLevel: byte(`segment ${i}'s memLevel`),
        strategy: byte(`segment ${i}'s strategy`),
      };
      if (!validDeflateParams(params))
        throw fail(
          `segment ${i}: zlib level ${params.level}, windowBits ${params.windowBits}, memLevel ${params.memLevel}, strategy ${params.strategy} outside 1..9, 9..15, 1..9, {0, 1, 4}`,
        );
      const inflatedBytes = varint(`segment ${i} inflated length`);
      const deflatedBytes = varint(`segment ${i} deflated length`);
      if (deflatedBytes === 0) throw fail(`deflate segment ${i} is empty`);
      segments.push({ kind: 'deflate', params, inflatedBytes, deflatedBytes });
      outBytes += deflatedBytes;
      expanded += inflatedBytes;
    } else if (kind === SEGMENT_RECIPE) {
      const recipeBytes = varint(`segment ${i} recipe length`);
      const inflatedBytes = varint(`segment ${i} inflated length`);
      const deflatedBytes = varint(`segment ${i} deflated length`);
      if (recipeBytes === 0 || deflatedBytes === 0) throw fail(`recipe segment ${i} has an empty recipe or stream`);
      segments.push({ kind: 'recipe', recipeBytes, inflatedBytes, deflatedBytes });
      outBytes += deflatedBytes;
      expanded += inflatedBytes + recipeBytes;
    } else {
      throw fail(`segment ${i} has unknown kind ${kind} (expected 0 raw, 1 deflate or 2 recipe)`);
    }
    if (outBytes > expectedSizeBytes)
      throw fail(`segments make more than the ${expectedSizeBytes} destination bytes (at segment ${i})`);
    if (expanded > MAX_EXPANDED_BYTES)
      throw fail(`segments expand to more than the ${MAX_EXPANDED_BYTES} bytes allowed (at segment ${i})`);
  }
  if (outBytes !== expectedSizeBytes) throw fail(`segments make ${outBytes} bytes, expected ${expectedSizeBytes}`);
  return { header: { newSizeBytes, oldStreams, segments }, innerOffsetBytes: at };
}

/**
 * Streams of at most this many inflated bytes are re-made even where the build's self-check
 * hands in proven re-deflations (PatchOptions.proven): cheap, and the self-check keeps running
 * the re-deflate code on most chunks (apk-like members are mostly small); the large ones, where
 * the time goes, come from the proof.
 */
const REMADE_ANYWAY_BYTES = 64 * 1024;

/**
 * Applies a deflate-aware patch to `source` and returns exactly `expectedSizeBytes` bytes. The
 * header is checked first (readDeflateAwareHeader), then its memory (headerApplyBytes) against
 * the op's declared `memoryBytes`, before anything is allocated. Each old stream must inflate to
 * exactly its stated length and end exactly at its stated deflated length; each deflate segment
 * must re-deflate, and each recipe segment be re-made (remakeDeflate: a malformed recipe is a
 * RecipeError), to exactly its stated length (into a buffer of that size, stopping at the first
 * byte past it). The expanded source (`work`), the inner patch's blocks
 * and result (`expanded`) and the output are in `buffers` when given (an applier's reused ones:
 * fresh ones per op stayed resident until a full collection). Throws PackageFormatError
 * (`BLOB_DECODE_FAILED`).
 */
export async function applyDeflateAwarePatch(
  source: Uint8Array,
  patch: Uint8Array,
  expectedSizeBytes: number,
  memoryBytes = Infinity,
  buffers?: PatchBuffers,
  proven?: ProvenRemakes,
): Promise<Buffer> {
  const { header, innerOffsetBytes } = readDeflateAwareHeader(patch, source.length, expectedSizeBytes);
  const needBytes = headerApplyBytes(header, source.length);
  if (needBytes > memoryBytes)
    throw fail(`patch needs ${needBytes} bytes of decoder memory, the op declares ${memoryBytes}`);
  const oldInflated = header.oldStreams.reduce((n, s) => n + s.inflatedBytes, 0);
  const expandedBytes = source.length + oldInflated;
  // Made on the main thread while the inner patch's blocks decode on the pool.
  const expandSource = (): Buffer => {
    const expandedSource = lend(buffers, expandedBytes, 'work') ?? Buffer.allocUnsafe(expandedBytes);
    expandedSource.set(source, 0);
    let at = source.length;
    header.oldStreams.forEach((s, i) => {
      const input = Buffer.from(source.buffer, source.byteOffset + s.sourceOffsetBytes, s.deflatedBytes);
      let inflated: Buffer;
      let consumed: number;
      try {
        // One output buffer of the declared size (+1, so a longer stream is caught by the limit, not
        // a second buffer), not zlib's default 16 KiB chunks and then their concatenation, which held
        // twice the stream until a collection (apk-256's apply: 131-153 MiB peak RSS in 4 runs, then 143-146).
        const r = inflateRawSync(input, {
          info: true,
          chunkSize: Math.max(64, s.inflatedBytes + 1),
          maxOutputLength: Math.max(1, s.inflatedBytes),
        }) as unknown as {
          buffer: Buffer;
          engine: { bytesWritten: number };
        };
        inflated = r.buffer;
        consumed = r.engine.bytesWritten;
      } catch (error) {
        throw fail(`old stream ${i} at source offset ${s.sourceOffsetBytes}: ${describeCause(error)}`, error);
      }
      if (inflated.length !== s.inflatedBytes || consumed !== s.deflatedBytes)
        throw fail(
          `old stream ${i} inflates ${consumed} bytes into ${inflated.length}, declared ${s.deflatedBytes} into ${s.inflatedBytes}`,
        );
      expandedSource.set(inflated, at);
      at += inflated.length;
    });
    return expandedSource;
  };
  // The inner patch's result is this patcher's working data, not the applier's output. Without a
  // source (a sourceless DIFF) none are lent: the inner result is then its extra block as it is,
  // not a copy in a lent buffer.
  const inner: PatchBuffers | undefined =
    buffers && expandedBytes > 0
      ? (size, use = 'output') => buffers(size, use === 'output' ? 'expanded' : use)
      : undefined;
  const expanded = await applyBsdiffLzmaPatch(
    { sizeBytes: expandedBytes, make: expandSource },
    patch.subarray(innerOffsetBytes),
    expandedTargetBytes(header.segments),
    memoryBytes,
    inner,
  );
  const out = lend(buffers, expectedSizeBytes, 'output') ?? Buffer.allocUnsafe(expectedSizeBytes);
  let from = 0;
  let to = 0;
  // The recipes follow the raw and inflated bytes; one pair of chain tables serves them all.
  let recipeAtByte = header.segments.reduce((n, s) => n + (s.kind === 'raw' ? s.sizeBytes : s.inflatedBytes), 0);
  const tables = header.segments.some((s) => s.kind === 'recipe') ? matchChainTables() : undefined;
  // With proven re-deflations (a self-check), streams of up to REMADE_ANYWAY_BYTES are still re-made here.
  const provenBytes = (inflated: Uint8Array, remake: Remake, deflatedBytes: number) =>
    inflated.length <= REMADE_ANYWAY_BYTES ? undefined : proven?.lookup(inflated, remake, deflatedBytes);
  header.segments.forEach((s, i) => {
    if (s.kind === 'recipe') {
      const inflated = expanded.subarray(from, from + s.inflatedBytes);
      const recipe = expanded.subarray(recipeAtByte, recipeAtByte + s.recipeBytes);
      const sink = new DeflateSink(s.deflatedBytes, undefined, out.subarray(to, to + s.deflatedBytes));
      try {
        const bytes = provenBytes(inflated, { recipe }, s.deflatedBytes);
        if (bytes) sink.putAll(bytes);
        else remakeDeflate(inflated, recipe, sink, tables);
      } catch (error) {
        if (error instanceof DeflateMismatch)
          throw fail(`segment ${i}'s recipe makes more than its declared ${s.deflatedBytes} bytes`);
        if (error instanceof RecipeError) throw fail(`segment ${i}: ${error.message}`);
        throw error;
      }
      if (sink.length !== s.deflatedBytes)
        throw fail(`segment ${i}'s recipe makes ${sink.length} bytes, declared ${s.deflatedBytes}`);
      from += s.inflatedBytes;
      recipeAtByte += s.recipeBytes;
      to += s.deflatedBytes;
      return;
    }
    if (s.kind === 'raw') {
      out.set(expanded.subarray(from, from + s.sizeBytes), to);
      from += s.sizeBytes;
      to += s.sizeBytes;
      return;
    }
    // Re-deflated straight into its place in the output.
    const sink = new DeflateSink(s.deflatedBytes, undefined, out.subarray(to, to + s.deflatedBytes));
    const inflated = expanded.subarray(from, from + s.inflatedBytes);
    try {
      const bytes = provenBytes(inflated, { params: s.params }, s.deflatedBytes);
      if (bytes) sink.putAll(bytes);
      else zlibDeflateRaw(inflated, s.params, sink);
    } catch (error) {
      if (error instanceof DeflateMismatch)
        throw fail(`segment ${i} re-deflates to more than its declared ${s.deflatedBytes} bytes`);
      throw error;
    }
    if (sink.length !== s.deflatedBytes)
      throw fail(`segment ${i} re-deflates to ${sink.length} bytes, declared ${s.deflatedBytes}`);
    from += s.inflatedBytes;
    to += s.deflatedBytes;
  });
  return out;
}

function fail(detail: string, cause?: unknown): Error {
  return blobDecodeError(WHAT, detail, cause);
}
