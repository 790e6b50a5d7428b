// An Android sparse output image, streamed in destination order (gaps are DONT_CARE), and the
// expanded sha256 of a sparse image as written, read back from the file.

import { lstat } from 'node:fs/promises';
import { UnsupportedError } from '../errors/ota-error.js';
import { imageSha256 } from '../hashing/image-sha256.js';
import { openImage } from '../image/open-image.js';
import { SparseImageWriter } from '../image/sparse-image-writer.js';
import type { Extent } from '../model/extent.js';
import type { PartitionUpdate } from '../model/manifest.js';
import type { FinishedImage, OutputImage } from './output-image.js';

/** An Android sparse image, streamed: ops must come in destination order; gaps are DONT_CARE. */
export class SparseOutput implements OutputImage {
  private nextBlock = 0;

  private constructor(
    private readonly writer: SparseImageWriter,
    private readonly bs: number,
    private readonly path: string,
  ) {}

  static async create(path: string, part: PartitionUpdate, bs: number): Promise<SparseOutput> {
    if (part.target.sizeBytes % bs !== 0) {
      throw new UnsupportedError(
        'SPARSE_OUTPUT_UNALIGNED',
        `the new image is ${part.target.sizeBytes} bytes, not a whole number of ${bs}-byte blocks: write it with --output-format raw`,
      );
    }
    return new SparseOutput(await SparseImageWriter.create(path, bs, part.target.sizeBytes / bs), bs, path);
  }

  private advance(dst: readonly Extent[]): void {
    for (const e of dst) {
      if (e.startBlock < this.nextBlock) {
        throw new UnsupportedError(
          'SPARSE_OUTPUT_ORDER',
          'sparse output needs operations in destination order; this package has none: use --output-format raw',
        );
      }
      this.nextBlock = e.startBlock + e.blockCount;
    }
  }

  async write(dst: readonly Extent[], data: Buffer): Promise<void> {
    this.advance(dst);
    let at = 0;
    for (const e of dst) {
      const bytes = e.blockCount * this.bs;
      await this.writer.writeData(e.startBlock, data.subarray(at, at + bytes));
      at += bytes;
    }
  }

  async zero(dst: readonly Extent[]): Promise<void> {
    this.advance(dst);
    for (const e of dst) await this.writer.writeFill(e.startBlock, e.blockCount, 0);
  }

  async sync(): Promise<void> {}

  async finish(): Promise<FinishedImage> {
    await this.writer.finish();
    return hashWrittenSparse(this.path, this.bs);
  }

  async abort(): Promise<void> {
    await this.writer.abort().catch(() => undefined);
  }
}

/**
 * The expanded sha256 of the sparse image at `path` as written (DONT_CARE reads as zeros), not of
 * the bytes handed to the writer; the inode is taken before and after, so the caller can check it
 * renames the file it hashed.
 */
export async function hashWrittenSparse(path: string, blockSizeBytes: number): Promise<FinishedImage> {
  const before = await lstat(path);
  const written = await openImage(path);
  const sha256 = await imageSha256(written, blockSizeBytes).finally(() => written.close());
  const after = await lstat(path);
  const same = before.dev === after.dev && before.ino === after.ino;
  return { sha256, fileId: same ? { dev: after.dev, ino: after.ino } : { dev: -1, ino: -1 } };
}
