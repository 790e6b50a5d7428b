// Writing an image into an existing block device, in place and in op order: opened read-write
// without O_CREAT/O_TRUNC (the node is never replaced), its size checked before the first write,
// every block the package defines written (zeros included — a device does not read as zeros),
// then read back and hashed. Not resumable: no checkpoint is kept beside a device node.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { UsageError, ioError } from '../errors/ota-error.js';
import { RawImageSource } from '../image/raw-image-source.js';
import { readFileExtentsInto } from '../image/extent-io.js';
import type { Extent } from '../model/extent.js';
import type { PartitionUpdate } from '../model/manifest.js';
import { imageSha256 } from '../hashing/image-sha256.js';
import type { FinishedImage, OutputImage } from './output-image.js';

/** Bytes of zeros written per call. */
const ZERO_WRITE_BYTES = 1024 * 1024;

/** The size of what `fh` reads, found with 1-byte positional reads (a block device stats as 0 bytes). */
async function readableSizeBytes(fh: FileHandle): Promise<number> {
  const one = Buffer.alloc(1);
  const has = async (offset: number) => (await fh.read(one, 0, 1, offset)).bytesRead === 1;
  let high = 1;
  while (await has(high - 1)) high *= 2;
  let low = high / 2; // low bytes are readable (0 when none), high are not
  if (low === 0.5) low = 0;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (await has(mid - 1)) low = mid;
    else high = mid;
  }
  return low;
}

/** An existing block device (or, for tests, an existing file opened the same way) written in place. */
export class BlockDeviceOutput implements OutputImage {
  private constructor(
    private readonly path: string,
    private fh: FileHandle | undefined,
    private readonly part: PartitionUpdate,
    private readonly bs: number,
  ) {}

  /** Opens `path` read-write (never created or truncated) and checks it can hold the target image. */
  static async open(path: string, part: PartitionUpdate, bs: number): Promise<BlockDeviceOutput> {
    let fh: FileHandle;
    try {
      fh = await open(path, constants.O_RDWR);
    } catch (err) {
      throw ioError('open block device', path, err);
    }
    try {
      const sizeBytes = await readableSizeBytes(fh);
      if (sizeBytes < part.target.sizeBytes)
        throw new UsageError(
          'OUTPUT_TOO_SMALL',
          `block device ${path} holds ${sizeBytes} bytes; the new image needs ${part.target.sizeBytes}; nothing was written`,
        );
    } catch (err) {
      await fh.close();
      throw err instanceof UsageError ? err : ioError('read block device', path, err);
    }
    return new BlockDeviceOutput(path, fh, part, bs);
  }

  async write(dst: readonly Extent[], data: Buffer): Promise<void> {
    let at = 0;
    for (const e of dst) {
      const length = e.blockCount * this.bs;
      await this.put(e.startBlock * this.bs, data.subarray(at, at + length));
      at += length;
    }
  }

  async zero(dst: readonly Extent[]): Promise<void> {
    const zeros = Buffer.alloc(Math.min(ZERO_WRITE_BYTES, Math.max(...dst.map((e) => e.blockCount)) * this.bs));
    for (const e of dst) {
      const end = (e.startBlock + e.blockCount) * this.bs;
      for (let at = e.startBlock * this.bs; at < end; at += zeros.length)
        await this.put(at, zeros.subarray(0, Math.min(zeros.length, end - at)));
    }
  }

  /** Reads back what was written; bytes past the image's end (the device may be larger) read as zeros. */
  readBackInto(extents: readonly Extent[], into: Buffer): Promise<void> {
    return readFileExtentsInto(this.fh!, extents, this.bs, into, this.part.target.sizeBytes, {
      action: 'read back block device',
      path: this.path,
    });
  }

  /** Writes `data` at `offsetBytes`, clipped to the image size (the device may be larger). */
  private async put(offsetBytes: number, data: Buffer): Promise<void> {
    const bytes = Math.max(0, Math.min(data.length, this.part.target.sizeBytes - offsetBytes));
    try {
      for (let done = 0; done < bytes;)
        done += (await this.fh!.write(data, done, bytes - done, offsetBytes + done)).bytesWritten;
    } catch (err) {
      throw ioError('write block device', this.path, err);
    }
  }

  async sync(): Promise<void> {
    await this.fh!.sync();
  }

  /** Syncs, reopens read-only and hashes the image's bytes on the device (DONT_CARE blocks as zeros). */
  async finish(): Promise<FinishedImage> {
    await this.fh!.sync();
    await this.fh!.close();
    this.fh = undefined;
    const fh = await open(this.path, constants.O_RDONLY);
    const written = RawImageSource.fromHandle(this.path, fh, this.part.target.sizeBytes);
    return { sha256: await imageSha256(written, this.bs, this.part.target.dontCare).finally(() => written.close()) };
  }

  async abort(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
  }
}
