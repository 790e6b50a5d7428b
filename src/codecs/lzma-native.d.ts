// Type declarations for the parts of lzma-native (8.x, no bundled types) the xz codec uses.
// Declarations only: the runtime is the package's own CommonJS module (default import).

declare module 'lzma-native' {
  import type { Duplex } from 'node:stream';

  /** A filter in a filter chain; LZMA2 options use liblzma's names in camelCase. */
  export interface LzmaFilter {
    id: string;
    options?: Record<string, number>;
  }

  /** Options accepted by createStream. */
  interface LzmaStreamOptions {
    filters?: LzmaFilter[];
    check?: number;
    memlimit?: number;
    flags?: number;
    synchronous?: boolean;
    bufsize?: number;
  }

  /**
   * The native coder behind createStream's streams, driven directly: `code` runs liblzma over its
   * input (synchronously when `async` is false) and calls `bufferHandler` with each output buffer,
   * then once with `buf` null at the stream's end or on an error (`err`).
   */
  export interface NativeCoder {
    rawDecoder(options: { filters: LzmaFilter[] }): void;
    streamDecoder(options: { memlimit?: number; flags?: number }): void;
    code(input: Buffer | null, async: boolean): void;
    resetUnderlying(): void;
    /** `totalIn`: the input bytes liblzma has consumed so far (null when it cannot tell). */
    bufferHandler: (
      buf: Buffer | null | undefined,
      processedChunks: number | undefined,
      err: Error | null | undefined,
      totalIn: number | null,
    ) => void;
  }

  /** The module object (CommonJS `module.exports`). */
  interface LzmaNative {
    readonly Stream: new () => NativeCoder;
    createStream(
      coder: 'streamEncoder' | 'streamDecoder' | 'rawEncoder' | 'rawDecoder',
      options?: LzmaStreamOptions,
    ): Duplex;
    rawDecoderMemusage(filters: LzmaFilter[]): number;
    versionString(): string;
    readonly CHECK_NONE: number;
    readonly CHECK_CRC32: number;
    readonly CHECK_CRC64: number;
    readonly CHECK_SHA256: number;
    readonly FILTER_LZMA2: string;
    readonly FILTER_X86: string;
    readonly MODE_FAST: number;
    readonly MODE_NORMAL: number;
    readonly MF_HC3: number;
    readonly MF_HC4: number;
    readonly MF_BT4: number;
  }

  const lzma: LzmaNative;
  export default lzma;
}
