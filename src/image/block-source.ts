// BlockSource: random-read access to an image's logical bytes, whatever its container.
// Implementations: RawImageSource (a plain file), SparseImageSource (Android sparse, read in
// place), MemoryBlockSource (tests).

/**
 * A run of the logical image whose content is known without reading it: a repeated 32-bit fill
 * value, or DONT_CARE (content undefined; reads as zeros). Offsets and sizes in bytes.
 */
export type SourceRun =
  | { readonly kind: 'fill'; readonly offsetBytes: number; readonly sizeBytes: number; readonly fillValue: number }
  | { readonly kind: 'dont-care'; readonly offsetBytes: number; readonly sizeBytes: number };

/** Random-read access to an image. Memory: implementations hold no image data themselves. */
export interface BlockSource {
  /** Where the image came from (for messages). */
  readonly path: string;
  /** Container format the bytes were read from: `raw`, `sparse`, `memory`. */
  readonly format: string;
  /** Exact size of the logical image (a sparse image's expanded size). */
  readonly sizeBytes: number;
  /**
   * Reads `lengthBytes` at `offsetBytes` into a new buffer. Bytes past `sizeBytes` and in
   * DONT_CARE runs read as zero, so callers can read whole blocks of any image.
   */
  read(offsetBytes: number, lengthBytes: number): Promise<Buffer>;
  /**
   * Optional: reads `into.length` bytes at `offsetBytes` into `into`, under the same rules as
   * `read`, so a caller can reuse one buffer instead of allocating per read (readSourceInto falls
   * back to `read` and a copy where a source has no such method).
   */
  readInto?(offsetBytes: number, into: Buffer): Promise<void>;
  /**
   * Fill and DONT_CARE runs, sorted by offset and non-overlapping (everything else is data).
   * Lets hashing skip expanding fills and mark DONT_CARE. Raw images have none.
   */
  knownRuns(): readonly SourceRun[];
  /** Releases the file handle. Safe to call twice. */
  close(): Promise<void>;
}
