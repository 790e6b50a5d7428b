// BlockSource: random-read access to an image's logical bytes, whatever its container.
// Implementations: RawImageSource (a plain file), MemoryBlockSource (tests); sparse later.

/** Random-read access to an image. Memory: implementations hold no image data themselves. */
export interface BlockSource {
  /** Where the image came from (for messages). */
  readonly path: string;
  /** Container format the bytes were read from: `raw`, `sparse`, `memory`. */
  readonly format: string;
  /** Exact size of the logical image. */
  readonly sizeBytes: number;
  /**
   * Reads `lengthBytes` at `offsetBytes` into a new buffer. Bytes past `sizeBytes` read as zero,
   * so callers can read whole blocks of an image whose size is not a block multiple.
   */
  read(offsetBytes: number, lengthBytes: number): Promise<Buffer>;
  /** Releases the file handle. Safe to call twice. */
  close(): Promise<void>;
}
