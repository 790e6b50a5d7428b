// RawImageSource: a BlockSource over a plain image file, opened read-only.

import { ImageError, ioError } from '../errors/ota-error.js';
import type { BlockSource, SourceRun } from './block-source.js';
import type { PositionalReader } from './file-range.js';

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
    const buf = Buffer.alloc(lengthBytes);
    const available = Math.max(0, Math.min(lengthBytes, this.sizeBytes - offsetBytes));
    let done = 0;
    while (done < available) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.fh.read(buf, done, available - done, offsetBytes + done));
      } catch (err) {
        throw ioError('read image', this.path, err);
      }
      if (bytesRead === 0) {
        throw new ImageError(
          'IMAGE_TRUNCATED',
          `${this.path} ended at ${offsetBytes + done} bytes while reading; it was ${this.sizeBytes} bytes when opened`,
        );
      }
      done += bytesRead;
    }
    return buf;
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
