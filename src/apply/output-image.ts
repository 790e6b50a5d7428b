// Where the applier writes the new image: a raw file (random writes by extent; can be reopened
// to resume) or an Android sparse image (streamed in destination order). Both report the sha256
// of the expanded result; the applier renames only after that matches the package. New files are
// created with O_EXCL (never through a planted symlink); a resumed one is reopened with O_NOFOLLOW.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { UnsupportedError, ioError } from '../errors/ota-error.js';
import { blockCountOf } from '../format/manifest-invariants.js';
import { openImage } from '../image/open-image.js';
import { RawImageSource } from '../image/raw-image-source.js';
import { SparseImageWriter } from '../image/sparse-image-writer.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import type { PartitionUpdate } from '../model/manifest.js';
import { imageSha256 } from '../hashing/image-sha256.js';
import { writeExtents } from '../image/extent-io.js';
import { readUpTo } from '../image/read-full.js';

/** Output container formats. */
export type OutputFormat = 'raw' | 'sparse';

/** A destination the applier fills op by op, in op order. */
export interface OutputImage {
  /** Writes the bytes of `dst` (whole blocks). */
  write(dst: readonly Extent[], data: Buffer): Promise<void>;
  /** Writes zeros to `dst`. */
  zero(dst: readonly Extent[]): Promise<void>;
  /** Makes everything written so far durable (before a checkpoint names it). */
  sync(): Promise<void>;
  /** Completes the file and returns the sha256 of the expanded image (DONT_CARE as zeros). */
  finish(): Promise<Buffer>;
  /** Closes without completing (the caller deletes the file). */
  abort(): Promise<void>;
}

/** Creates a new output of `format` at `path`, which must not exist yet (O_EXCL), for `part`. */
export async function createOutputImage(
  format: OutputFormat,
  path: string,
  part: PartitionUpdate,
  blockSizeBytes: number,
): Promise<OutputImage> {
  return format === 'raw'
    ? RawOutput.open(path, part, blockSizeBytes, false)
    : SparseOutput.create(path, part, blockSizeBytes);
}

/** Reopens a partial raw output to resume it; `readBack` re-reads what completed ops wrote. */
export async function reopenRawOutput(path: string, part: PartitionUpdate, blockSizeBytes: number): Promise<RawOutput> {
  return RawOutput.open(path, part, blockSizeBytes, true);
}

/** A plain image file: a fresh file reads as zeros, so ZERO ops and DONT_CARE blocks need no writes. */
export class RawOutput implements OutputImage {
  private constructor(
    private readonly path: string,
    private fh: FileHandle | undefined,
    private readonly part: PartitionUpdate,
    private readonly bs: number,
  ) {}

  static async open(path: string, part: PartitionUpdate, bs: number, resume: boolean): Promise<RawOutput> {
    let fh: FileHandle;
    try {
      const flags = resume
        ? constants.O_RDWR | constants.O_NOFOLLOW
        : constants.O_RDWR | constants.O_CREAT | constants.O_EXCL;
      fh = await open(path, flags, 0o644);
      await fh.truncate(blockCountOf(part.target.sizeBytes, bs) * bs);
    } catch (err) {
      throw ioError(resume ? 'reopen partial output' : 'create output', path, err);
    }
    return new RawOutput(path, fh, part, bs);
  }

  async write(dst: readonly Extent[], data: Buffer): Promise<void> {
    await writeExtents(this.fh!, this.path, dst, this.bs, data);
  }

  async zero(): Promise<void> {}

  /** Reads back the bytes of `dst` from the file (a short file reads as zeros). */
  async readBack(dst: readonly Extent[]): Promise<Buffer> {
    const out = Buffer.alloc(totalBlocks(dst) * this.bs);
    let at = 0;
    for (const e of dst) {
      const length = e.blockCount * this.bs;
      await readUpTo(this.fh!, out.subarray(at, at + length), e.startBlock * this.bs, {
        action: 'read back output',
        path: this.path,
      });
      at += length;
    }
    return out;
  }

  async sync(): Promise<void> {
    await this.fh!.sync();
  }

  async finish(): Promise<Buffer> {
    await this.fh!.truncate(this.part.target.sizeBytes);
    await this.fh!.sync();
    await this.fh!.close();
    this.fh = undefined;
    // Re-read what is on disk, as a raw image whatever its first bytes look like.
    const fh = await open(this.path, 'r');
    const written = RawImageSource.fromHandle(this.path, fh, this.part.target.sizeBytes);
    return imageSha256(written, this.bs).finally(() => written.close());
  }

  async abort(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
  }
}

/** An Android sparse image, streamed: ops must come in destination order; gaps are DONT_CARE. */
class SparseOutput implements OutputImage {
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

  async finish(): Promise<Buffer> {
    await this.writer.finish();
    // Re-read the file as written (DONT_CARE reads as zeros), not the bytes handed to the writer.
    const written = await openImage(this.path);
    return imageSha256(written, this.bs).finally(() => written.close());
  }

  async abort(): Promise<void> {
    await this.writer.abort().catch(() => undefined);
  }
}
