// The image an in-place apply rewrites: the one place the applier opens an old image for writing,
// and only because the user named it with --in-place. A regular file or a block device (named
// directly or through a symlink such as /dev/block/by-name/system), opened O_RDWR without
// O_CREAT/O_TRUNC and checked with fstat on the open handle: anything else is refused, a regular
// file must be exactly the package's image size; reads pad past the end with zeros, writes are
// clipped to it.

import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { IoError, UsageError, VerificationError, ioError } from '../errors/ota-error.js';
import { imageSha256 } from '../hashing/image-sha256.js';
import { readExtents } from '../image/extent-io.js';
import { RawImageSource } from '../image/raw-image-source.js';
import { SPARSE_HEADER_MAGIC } from '../image/sparse-format.js';
import { writeFull } from '../image/write-full.js';
import type { BlockSource } from '../image/block-source.js';
import type { Extent } from '../model/extent.js';

/** The size of what `fh` reads, found with 1-byte positional reads (a block device stats as 0 bytes). */
async function readableSizeBytes(fh: FileHandle, atLeast: number): Promise<number> {
  const one = Buffer.alloc(1);
  const has = async (offset: number) => (await fh.read(one, 0, 1, offset)).bytesRead === 1;
  if (atLeast > 0 && !(await has(atLeast - 1))) return 0;
  return atLeast;
}

/** An image opened for in-place rewriting. */
export class InPlaceImage {
  /** Reads through the writable handle (never closes it). */
  readonly source: BlockSource;
  /** Whether this run has written any block yet. */
  wroteAny = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly sizeBytes: number,
    private readonly bs: number,
  ) {
    this.source = RawImageSource.fromHandle(path, { read: (...a) => fh.read(...a), close: async () => {} }, sizeBytes);
  }

  /**
   * Opens `path` read-write. A regular file must be exactly `sizeBytes` long (exit 5 otherwise:
   * not the package's image); a block device must hold at least `sizeBytes` (exit 2).
   */
  static async open(path: string, sizeBytes: number, blockSizeBytes: number): Promise<InPlaceImage> {
    let fh: FileHandle;
    // A block device is opened exclusively (Linux: EBUSY while it is mounted or another apply has
    // it open); an image file is locked by the caller.
    const device = await stat(path).then(
      (st) => st.isBlockDevice(),
      () => false,
    );
    try {
      fh = await open(path, constants.O_RDWR | (device ? constants.O_EXCL : 0));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EBUSY')
        throw new IoError(
          'OUTPUT_BUSY',
          `block device ${path} is in use (mounted, or opened by another apply); nothing was written`,
        );
      // As for a FIFO (below): the image named is no image.
      if ((err as NodeJS.ErrnoException).code === 'EISDIR')
        throw new UsageError('OUTPUT_NOT_FILE', `${path} is a folder, not an image; nothing was written`);
      throw ioError('open image for in-place update', path, err);
    }
    try {
      const st = await fh.stat();
      if (st.isFile() && st.size !== sizeBytes) {
        const head = Buffer.alloc(4);
        await fh.read(head, 0, 4, 0);
        const sparse = head.readUInt32LE(0) === SPARSE_HEADER_MAGIC;
        throw new VerificationError(
          'WRONG_BASE',
          `image ${path} is ${st.size} bytes; the package rewrites a ${sizeBytes}-byte image; nothing was written${sparse ? ` (${path} is an Android sparse image: --in-place rewrites a raw one, which simg2img makes)` : ''}`,
        );
      }
      if (!st.isFile() && !st.isBlockDevice())
        throw new UsageError(
          'OUTPUT_NOT_FILE',
          `${path} is neither a regular file nor a block device; nothing was written`,
        );
      if (st.isBlockDevice() && (await readableSizeBytes(fh, sizeBytes)) < sizeBytes)
        throw new UsageError(
          'OUTPUT_TOO_SMALL',
          `block device ${path} is smaller than the ${sizeBytes}-byte image; nothing was written`,
        );
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new InPlaceImage(path, fh, sizeBytes, blockSizeBytes);
  }

  /** The blocks of `extents`, concatenated (past the end: zeros). */
  read(extents: readonly Extent[]): Promise<Buffer> {
    return readExtents(this.source, extents, this.bs);
  }

  /** Writes `data` over the blocks of `extents`, clipped to the image size. */
  async write(extents: readonly Extent[], data: Buffer): Promise<void> {
    this.wroteAny = true;
    let at = 0;
    for (const e of extents) {
      const offset = e.startBlock * this.bs;
      const length = Math.max(0, Math.min(e.blockCount * this.bs, this.sizeBytes - offset));
      await writeFull(this.fh, data.subarray(at, at + length), offset, { action: 'write image', path: this.path });
      at += e.blockCount * this.bs;
    }
  }

  /** Makes every write so far durable. */
  async sync(): Promise<void> {
    await this.fh.sync().catch((err) => {
      throw ioError('flush image', this.path, err);
    });
  }

  /** sha256 of the image, `dontCare` blocks read as zeros. */
  sha256(dontCare: readonly Extent[]): Promise<Buffer> {
    return imageSha256(this.source, this.bs, dontCare);
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
