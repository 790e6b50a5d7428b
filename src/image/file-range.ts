// FileRange: a window onto a byte range of an open file, so an image stored inside a container
// (a Unisoc PAC entry) can be read in place by RawImageSource/SparseImageSource. Owns the range
// arithmetic only; sniffing and validation stay in open-image-range.ts and the sources.

import type { FileHandle } from 'node:fs/promises';

/** The positional reads an image source needs from its file: a FileHandle, or a FileRange. */
export interface PositionalReader {
  /** Reads up to `length` bytes at `position` into `buffer` at `offset`; bytesRead 0 at the end. */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** Closes the underlying file. */
  close(): Promise<void>;
}

/**
 * Bytes [offsetBytes, offsetBytes + sizeBytes) of an open file, addressed from 0. Reads past the
 * range end return 0 bytes, exactly as reads past a file's end do, so a sparse image cut short
 * by its range is reported as truncated rather than read into its neighbour. Owns `fh`.
 */
export class FileRange implements PositionalReader {
  constructor(
    private readonly fh: FileHandle,
    readonly offsetBytes: number,
    readonly sizeBytes: number,
  ) {
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || !Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
      throw new RangeError(`file range must be non-negative integers, got offset ${offsetBytes} size ${sizeBytes}`);
    }
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const allowed = Math.max(0, Math.min(length, this.sizeBytes - position));
    if (allowed === 0) return { bytesRead: 0 };
    const { bytesRead } = await this.fh.read(buffer, offset, allowed, this.offsetBytes + position);
    return { bytesRead };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
