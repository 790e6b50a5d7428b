// A raw output image file: written by extent (in any order), hashed as it is written (on a worker
// thread for a large image) up to the frontier of completed writes, flushed in the background, and
// reopened (checked first) to resume. The one file whose renamed inode is the one hashed.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ioError } from '../errors/ota-error.js';
import { blockCountOf } from '../format/manifest-invariants.js';
import { readFileExtentsInto, writeExtents } from '../image/extent-io.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import type { PartitionUpdate } from '../model/manifest.js';
import { startDescriptorHash, type FileHasher } from './descriptor-hasher.js';
import type { FinishedImage, OutputImage } from './output-image.js';
import { openOwnedFile, type FileId } from './owned-file.js';
import { WriteFrontier } from './write-frontier.js';

/**
 * Reopens a partial raw output to resume it; `readBack` re-reads what completed ops wrote. Returns
 * why it cannot be used instead when it is not a file this applier made: a symlink, a hard link, a
 * file of another user or one of `forbidden` (the old images) — nothing is then written to it.
 */
export async function reopenRawOutput(
  path: string,
  part: PartitionUpdate,
  blockSizeBytes: number,
  forbidden: readonly FileId[],
): Promise<RawOutput | { problem: string }> {
  const opened = await openOwnedFile(path, 'write', forbidden);
  if ('problem' in opened) return opened;
  // Checked above through this very handle: only now may it be truncated.
  await opened.fh.truncate(blockCountOf(part.target.sizeBytes, blockSizeBytes) * blockSizeBytes).catch(async (err) => {
    await opened.fh.close();
    throw ioError('reopen partial output', path, err);
  });
  return new RawOutput(path, opened.fh, part, blockSizeBytes, true);
}

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);
/** Bytes written between background flushes of a raw output. */
const FLUSH_EVERY_BYTES = 8 * 1024 * 1024;

/**
 * A plain image file. A fresh file reads as zeros, so ZERO ops and DONT_CARE blocks need no writes;
 * a reopened one (`explicitZeros`) may hold anything where no completed op wrote, so they are written.
 *
 * The image sha256 of a fresh file is taken as it is written: read back through this handle's
 * descriptor (descriptor-hasher.ts: on a worker thread, or at `finish` on this one for a small
 * image) as far as it is final: up to the first block an op has still to write (write-frontier.ts;
 * a gathered or twinned op's later extents, written ahead, are passed once the frontier reaches
 * them; blocks no op writes read as the zeros of a fresh file). A write behind the frontier (or a reopened file) drops that hash
 * for a re-read of the whole file at `finish`, the same way. Either way the bytes hashed are
 * read back through this handle after they were written, and `finish` reports its inode: the file
 * renamed is the file hashed (the lock keeps other appliers out; a process writing into another's
 * partial could equally change it after a re-read, before the rename).
 */
export class RawOutput implements OutputImage {
  /** How far a fresh file is final, while no write came behind it. */
  private readonly frontier: WriteFrontier | undefined;
  /** The running image sha256 of a fresh file up to the frontier (stopped when it stops). */
  private hasher: FileHasher | undefined;
  private hasherStopped: Promise<void> | undefined;
  /** Bytes written since the last background flush started. */
  private unflushedBytes = 0;
  private flushing: Promise<void> | undefined;
  private flushError: unknown;

  /** Wraps a handle that was created with O_EXCL or reopened and checked (use open or reopenRawOutput). */
  constructor(
    private readonly path: string,
    private fh: FileHandle | undefined,
    private readonly part: PartitionUpdate,
    private readonly bs: number,
    /** Whether zeros must be written (a reopened partial) rather than assumed (a fresh file). */
    readonly explicitZeros: boolean,
    /** Where the hash runs (DescriptorHashOptions.onWorker); default: by the image's size. */
    private readonly hashOnWorker?: boolean,
  ) {
    if (!explicitZeros && fh) {
      this.frontier = new WriteFrontier(part, bs);
      this.hasher = this.hashFile(fh);
    }
  }

  /** Whether `finish` will take the running hash (true) or re-read the whole file (false). */
  get hashRunning(): boolean {
    return this.frontier?.running ?? false;
  }

  static async open(path: string, part: PartitionUpdate, bs: number, hashOnWorker?: boolean): Promise<RawOutput> {
    let fh: FileHandle;
    try {
      fh = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      await fh.truncate(blockCountOf(part.target.sizeBytes, bs) * bs);
    } catch (err) {
      throw ioError('create output', path, err);
    }
    return new RawOutput(path, fh, part, bs, false, hashOnWorker);
  }

  async write(dst: readonly Extent[], data: Buffer): Promise<void> {
    await writeExtents(this.fh!, this.path, dst, this.bs, data);
    // Only now may the hash read what this write passed.
    this.follow(dst);
    this.unflushedBytes += data.length;
    if (this.unflushedBytes >= FLUSH_EVERY_BYTES && !this.flushing) this.startFlush();
  }

  /** Moves the running hash's frontier over a completed write of `dst`, or stops the hash. */
  private follow(dst: readonly Extent[]): void {
    if (!this.frontier || !this.hasher) return;
    this.frontier.note(dst);
    if (this.frontier.running) {
      this.frontier.advance(this.extendHash);
    } else {
      this.hasherStopped = this.hasher.stop();
      this.hasher = undefined;
    }
  }

  /** Passes a final range to the running hash (`zeros`: never written, hashed unread). */
  private readonly extendHash = (endBytes: number, zeros: boolean): void => this.hasher?.extend(endBytes, zeros);

  /** A hash of this output's bytes through `fh`'s descriptor (the file is never shorter: see open). */
  private hashFile(fh: FileHandle): FileHasher {
    const where = this.hashOnWorker === undefined ? {} : { onWorker: this.hashOnWorker };
    return startDescriptorHash(fh.fd, { sizeBytes: this.part.target.sizeBytes, ...where });
  }

  /**
   * Starts writing back what is written so far (fdatasync on the libuv pool, not awaited), so the
   * flush that must precede the rename (`sync`, `finish`) finds little left to write. A failure
   * is kept and thrown by the next `sync` or `finish`: a write-back error is reported only once.
   */
  private startFlush(): void {
    this.unflushedBytes = 0;
    this.flushing = this.fh!.datasync()
      .catch((err: unknown) => {
        this.flushError ??= err;
      })
      .finally(() => {
        this.flushing = undefined;
      });
  }

  /** Waits for a background flush and throws its error, if any. */
  private async flushed(): Promise<void> {
    await this.flushing;
    if (this.flushError !== undefined) throw ioError('flush output', this.path, this.flushError);
  }

  async zero(dst: readonly Extent[]): Promise<void> {
    // A fresh file already holds zeros there (the running hash takes them as blocks no op writes).
    if (!this.explicitZeros) return;
    for (const e of dst) {
      const end = (e.startBlock + e.blockCount) * this.bs;
      for (let at = e.startBlock * this.bs; at < end;) {
        const { bytesWritten } = await this.fh!.write(ZERO_CHUNK, 0, Math.min(ZERO_CHUNK.length, end - at), at);
        at += bytesWritten;
      }
    }
  }

  /** Reads back the bytes of `dst` from the file, as written (a short file reads as zeros). */
  async readBack(dst: readonly Extent[]): Promise<Buffer> {
    const out = Buffer.alloc(totalBlocks(dst) * this.bs);
    await readFileExtentsInto(this.fh!, dst, this.bs, out, Infinity, this.readBackPurpose);
    return out;
  }

  /** See OutputImage: bytes past the image's end read as zeros, as on a device. */
  readBackInto(dst: readonly Extent[], into: Buffer): Promise<void> {
    return readFileExtentsInto(this.fh!, dst, this.bs, into, this.part.target.sizeBytes, this.readBackPurpose);
  }

  private get readBackPurpose() {
    return { action: 'read back output', path: this.path };
  }

  async sync(): Promise<void> {
    await this.flushed();
    await this.fh!.sync();
  }

  async finish(): Promise<FinishedImage> {
    await this.flushed();
    const fh = this.fh!;
    this.fh = undefined;
    // The running hash, or a re-read of the whole file: either way the hasher reads through `fh`,
    // stopped (if it did not finish) before `fh` is closed, whatever fails on the way.
    const hasher = this.hasher ?? this.hashFile(fh);
    this.hasher = undefined;
    let digested = false;
    let synced: Promise<void> | undefined;
    try {
      await this.hasherStopped;
      await fh.truncate(this.part.target.sizeBytes);
      // The flush to disk runs (libuv pool) while the file is (if need be) re-read and hashed: both
      // must finish before the caller may rename, and neither changes the bytes the other sees.
      synced = fh.sync();
      // The inode of the handle that wrote (not the name: another process could have put another
      // file there); a re-read goes through that handle too, as a raw image whatever its first bytes.
      const st = await fh.stat();
      // The running hash reads to the end (planned blocks never written are the file's zeros).
      if (this.frontier?.running) this.frontier.advance((endBytes, zeros) => hasher.extend(endBytes, zeros), true);
      digested = true; // digest() stops a worker whether it succeeds or not
      const sha256 = await hasher.digest().catch((err: unknown) => {
        throw ioError('hash output', this.path, err);
      });
      await synced;
      return { sha256, fileId: { dev: st.dev, ino: st.ino } };
    } finally {
      if (!digested) await hasher.stop();
      await synced?.catch(() => undefined);
      await fh.close();
    }
  }

  async abort(): Promise<void> {
    // The hash worker reads through the descriptor: stopped before it is closed.
    await this.hasher?.stop();
    this.hasher = undefined;
    await this.hasherStopped;
    await this.fh?.close().catch(() => undefined);
  }
}
