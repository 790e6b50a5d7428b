// RawImageSource: a BlockSource over a plain image file, opened read-only.

import { ImageError } from '../errors/ota-error.js';
import type { BlockSource, SourceRun } from './block-source.js';
import type { PositionalReader } from './file-range.js';
import { readFull } from './read-full.js';

/** A plain image file, opened by open-image.ts with flag `r`: never for writing. */
export class RawImageSource implements BlockSource {
  readonly format = 'raw';
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: PositionalReader,
    readonly sizeBytes: number,
  ) {}

  /** Wraps a handle (or a FileRange) open-image.ts opened read-only after sniffing the magic. */
  static fromHandle(path: string, fh: PositionalReader, sizeBytes: number): RawImageSource {
    return new RawImageSource(path, fh, sizeBytes);
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    // Every byte is written below (data or zeros); never a pooled slice: callers may keep it.
    const buf = Buffer.allocUnsafeSlow(lengthBytes);
    await this.readInto(offsetBytes, buf);
    return buf;
  }

  async readInto(offsetBytes: number, into: Buffer): Promise<void> {
    const available = Math.max(0, Math.min(into.length, this.sizeBytes - offsetBytes));
    // Past the end reads as zeros (see BlockSource.read).
    into.fill(0, available);
    await readFull(this.fh, into.subarray(0, available), offsetBytes, {
      action: 'read image',
      path: this.path,
      onShort: (endedAtBytes) =>
        new ImageError(
          'IMAGE_TRUNCATED',
          `${this.path} ended at ${endedAtBytes} bytes while reading; it was ${this.sizeBytes} bytes when opened`,
        ),
    });
  }

  /**
   * The descriptor of the whole file this source reads (for a hashing worker's positional reads);
   * undefined when it reads a range of a container. Valid until `close`.
   */
  fileDescriptor(): number | undefined {
    const fd = (this.fh as { fd?: unknown }).fd;
    return typeof fd === 'number' && !this.closed ? fd : undefined;
  }

  knownRuns(): readonly SourceRun[] {
    return [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}
