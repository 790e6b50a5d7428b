// Differ: the build-side half of a binary-diff plugin. Differs register by name in
// differ-registry.ts; the build pipeline and compare only ever see this interface. The device
// side never loads a differ (see patcher.ts for the other half).

import type { DifferDescriptor } from './differ-descriptor.js';

/** How the encoding rules treat a differ (pipeline/encode-chunk.ts reads these, never names). */
export interface DifferTraits {
  /**
   * When the rules try it. `lead`: first, on every chunk (fast, and the smallest on most chunks);
   * where every diff target allows a lead differ it stands in for the fallbacks. `middle`: where
   * the lead leaves enough to win, or the chunk is small. `fallback`: only where no lead differ
   * stands in, and only where the other differs show the source helps.
   */
  readonly tier: 'lead' | 'middle' | 'fallback';
  /** Degrades badly on long zero runs (a suffix sort): skipped when most blocks are zero. */
  readonly slowOnZeroRuns: boolean;
  /**
   * Content the differ can only use whole: `zip-members` asks the planner to keep each changed
   * zip member in one op where the op size and MAX_RUN_BYTES allow (the deflate-aware differ re-deflates whole
   * streams). Absent: any chunking.
   */
  readonly keepWhole?: 'zip-members';
  /**
   * With `keepWhole`: the largest chunk holding such runs it handles well (the planner cuts those
   * chunks to this, their source in proportion). Absent: the planner's chunk size.
   */
  readonly wholeChunkBytes?: number;
  /**
   * With `estimate`: how much smaller than its estimate diff()'s patch typically is (measured
   * ratio estimate ÷ patch). The rules skip a middle differ whose estimate divided by this is
   * still larger than the best diff already found.
   */
  readonly estimateGain?: number;
  /**
   * Makes useful patches from no source at all (FORMAT.md §4, a sourceless DIFF, 1.4): tried on
   * full-image chunks it applies to, next to the REPLACE codecs (e.g. deflate-aware: the
   * expanded target LZMA-coded beats any codec on deflated bytes). Absent: needs a source.
   */
  readonly withoutSource?: boolean;
}

/** What the targets a patch is for can read. */
export interface DiffOptions {
  /**
   * The least maxFormatMinor among them (absent: any): a differ whose patches may use a newer
   * feature (patchFormatMinor) makes one without it, so those targets keep the differ.
   */
  readonly maxFormatMinor?: number;
}

/** Makes patches in one patch format. */
export interface Differ extends DifferDescriptor {
  readonly traits: DifferTraits;
  /**
   * Returns a patch that turns `source` into `target`. Deterministic for the same inputs and
   * options. Memory: stated by each implementation (bsdiff ≈ 17 × source, zstd-dict ≈ window + both inputs).
   */
  diff(source: Uint8Array, target: Uint8Array, options?: DiffOptions): Promise<Buffer>;
  /**
   * Content-aware differs only: whether `target` holds content this differ understands (e.g.
   * deflate streams). The encoding rules skip the differ on chunks where it says no; absent,
   * the differ applies everywhere. Cheap, deterministic, looks only at the data.
   */
  applies?(source: Uint8Array, target: Uint8Array): boolean;
  /**
   * Content-aware differs only: whether this pair's patch can beat a byte differ's at all, for
   * targets that read what `options` says (e.g. deflate-aware: only where a changed stream is
   * re-made bit for bit, by recipe only for targets reading format 1.7; elsewhere its patch is
   * bsdiff-lzma's plus a header). May cost diff()'s content search, which a diff() of the same
   * buffers on the same thread may reuse. The encoding rules ask it only on chunks where they drop
   * the byte differs (a poorly compressible chunk its source barely helps); there a differ without
   * it does not run. Deterministic, looks only at the data and options.
   */
  beatsByteDiffers?(source: Uint8Array, target: Uint8Array, options?: DiffOptions): boolean;
  /**
   * Content-aware differs only: whether `patch` (one of this differ's, for a `sourceBytes`-byte
   * source and a `targetBytes`-byte target) transformed content (deflate-aware: re-deflates some
   * stream), rather than wrap a byte differ's patch in its header. The encoding rules run the
   * leads that declare it first, and skip the other leads where each target keeps a patch of
   * theirs that transformed content and is that small (encode-chunk.ts,
   * LEAD_LEAVES_NOTHING_SHARE). False for bytes it cannot read. Pure.
   */
  transformsContent?(patch: Uint8Array, sourceBytes: number, targetBytes: number): boolean;
  /**
   * A quick pass (a small fraction of diff()'s time) whose size predicts diff()'s, in bytes (see
   * traits.estimateGain). Deterministic. Absent: the rules have no cheaper way to judge the differ.
   */
  estimate?(source: Uint8Array, target: Uint8Array): Promise<number>;
  /**
   * Content-aware differs only: the decoder memory `patch` needs, which may exceed
   * decoderMemoryBytes (e.g. inflated streams); the op declares this instead. Absent: decoderMemoryBytes.
   */
  patchDecoderMemoryBytes?(patch: Uint8Array, sourceBytes: number, targetBytes: number): number;
  /**
   * The least package format minor `patch` needs beyond its differ's own (e.g. exec-aware's label
   * table: 1.5); targets that read older packages do not keep it. Absent: 0.
   */
  patchFormatMinor?(patch: Uint8Array): number;
  /**
   * Differs that work without a source only (traits.withoutSource): bytes under which no
   * general-purpose REPLACE codec brings `target`, from what the differ found in it (e.g. its
   * Huffman-coded deflate streams, each counted once). The rules skip the slow codecs where a
   * sourceless patch is below it, so an implementer must show, by measurement with a margin, that
   * no codec comes under it; a floor set too high costs package size, never correctness (every
   * candidate kept is still self-checked). Deterministic; cheap right after diff() of the same
   * target from no source. Absent: no floor known.
   */
  replaceFloorBytes?(target: Uint8Array): number;
}
