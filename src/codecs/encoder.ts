// Encoder: the build-side half of a compression plugin. Encoders register by name in
// encoder-registry.ts; the build pipeline and compare only ever see this interface. The device
// side never loads an encoder (see decoder.ts for the other half).

import type { ContentClass } from '../hashing/content-sketch.js';
import type { CodecDescriptor } from './codec-descriptor.js';

/** How the encoding rules treat a codec (pipeline/encode-chunk.ts reads these, never names). */
export interface EncoderTraits {
  /** `fast` codecs are tried on every chunk; `slow` ones only where replace may still win. */
  readonly speedClass: 'fast' | 'slow';
  /** Among slow codecs, lower tries first: the first allowed one probes whether replace can win. */
  readonly probeOrder: number;
  /**
   * A level at which this codec compresses at hundreds of MB/s, so its output size is a cheap
   * estimate of how compressible a chunk is (the rules skip the fast codecs where every target's
   * best diff is far below it). Absent: the codec gives no estimate.
   */
  readonly estimateLevel?: number;
  /**
   * Content classes on which it beats the other slow codecs, as measured on full-image chunks: a
   * chunk of a full image gets the first slow codec suited to its class (probeOrder breaks ties),
   * not every slow codec.
   */
  readonly suitedContent?: readonly ContentClass[];
}

/** What the build knows about a chunk that a codec may use (ignored by codecs that cannot). */
export interface EncodeOptions {
  /**
   * The chunk is x86 code (content class `x86`, over 256 KiB): a codec with an x86 branch filter
   * applies it.
   */
  readonly x86Code?: boolean;
  /**
   * The chunk is AArch64 code (arm64FilterGain at least ARM64_FILTER_MIN_GAIN, over 256 KiB): a
   * codec with an ARM64 branch filter applies it.
   */
  readonly arm64Code?: boolean;
  /**
   * The content class of a chunk over 256 KiB: a codec may tune to it (xz picks its LZMA2
   * lc/lp/pb, lzma2-content-tuning.ts).
   */
  readonly contentClass?: ContentClass;
  /**
   * With `contentClass`: the chunk's 4-byte structure (byteLaneGapBits, lzma2-content-tuning.ts),
   * measured once per chunk by the pipeline; a codec that needs it and finds it absent measures it.
   */
  readonly laneGapBits?: number;
}

/** Compresses data for one codec. Encoding may run in worker threads. */
export interface Encoder extends CodecDescriptor {
  readonly traits: EncoderTraits;
  /**
   * Compresses `data` at `level`. Deterministic: the same input and level give the same bytes.
   * Memory: about the codec's window plus input and output.
   */
  encode(data: Uint8Array, level: number, options?: EncodeOptions): Promise<Buffer>;
  /** Decoder memory of a blob encoded with `options`; absent: decoderMemoryBytes(level, inputBytes). */
  decoderMemoryBytesWith?(level: number, inputBytes: number, options: EncodeOptions): number;
  /**
   * The least package format minor a blob encoded with `options` needs beyond what the manifest
   * shows (e.g. 4 for xz's ARM64 chain, FORMAT.md §2); absent or 0: none.
   */
  formatMinorWith?(options: EncodeOptions): number;
}
