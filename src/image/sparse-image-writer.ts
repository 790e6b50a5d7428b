// SparseImageWriter: writes an Android sparse image front to back (the applier's
// `--output-format sparse`). Callers hand it blocks in increasing order; blocks that repeat one
// 32-bit value become FILL chunks, other data RAW chunks, gaps DONT_CARE, and adjacent chunks of
// the same kind merge. It hashes the expanded image as it goes. Byte layout: sparse-format.ts.
// Memory: one pending RAW chunk (≤ SPARSE_WRITER_MAX_RAW_CHUNK_BYTES, or one block if larger),
// a 1 MiB output staging buffer (small chunks are written in batches) and 1 MiB of fill pattern.

import { createHash, type Hash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { ioError } from '../errors/ota-error.js';
import { writeFull } from './write-full.js';
import {
  SPARSE_CHUNK_HEADER_BYTES,
  SPARSE_FILE_HEADER_BYTES,
  SparseChunkType,
  encodeSparseChunkHeader,
  encodeSparseFileHeader,
  sparseFileHeader,
} from './sparse-format.js';

/** RAW data buffered before a RAW chunk is emitted (a longer RAW run becomes several chunks). */
export const SPARSE_WRITER_MAX_RAW_CHUNK_BYTES = 4 * 1024 * 1024;
/** Bytes of fill pattern / zeros hashed per update when hashing FILL and DONT_CARE runs. */
const PATTERN_BYTES = 1024 * 1024;
/** Chunk bytes collected before one file write. */
const STAGE_BYTES = 1024 * 1024;

/** What finish() reports. */
export interface SparseWriteResult {
  /** Size of the sparse file written. */
  readonly sizeBytes: number;
  /** sha256 of the expanded image (totalBlocks × blockSizeBytes bytes, DONT_CARE as zeros). */
  readonly expandedSha256: Buffer;
}

type ChunkKind = 'raw' | 'fill' | 'dont-care';

/**
 * Streams a sparse image to a new file. Writes must move forward: each call starts at or after
 * the end of the previous one. On any failure, call abort() to delete the partial file.
 */
export class SparseImageWriter {
  private fileOffsetBytes = SPARSE_FILE_HEADER_BYTES;
  private writtenBytes = SPARSE_FILE_HEADER_BYTES;
  private stage: Buffer | undefined;
  private stagedBytes = 0;
  private positionBlock = 0;
  private chunkCount = 0;
  private readonly hash: Hash = createHash('sha256');
  private pendingKind: ChunkKind | undefined;
  private pendingBlocks = 0;
  private pendingFill = 0;
  private raw: Buffer | undefined;
  private pattern: Buffer | undefined;
  private patternValue = -1;
  private state: 'open' | 'finished' | 'closed' = 'open';
  private readonly maxRawBlocks: number;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly blockSizeBytes: number,
    readonly totalBlocks: number,
  ) {
    this.maxRawBlocks = Math.max(1, Math.floor(SPARSE_WRITER_MAX_RAW_CHUNK_BYTES / blockSizeBytes));
  }

  /**
   * Creates `path` (flag `wx`: never overwrites) for an image of `totalBlocks` blocks of
   * `blockSizeBytes` (a positive multiple of 4; 1 to 2^32-1 blocks, the format's limits; note that
   * SparseImageSource reads back at most MAX_SPARSE_IMAGE_BYTES). Throws RangeError for bad sizes,
   * IoError (exit 8) when the file cannot be created.
   */
  static async create(path: string, blockSizeBytes: number, totalBlocks: number): Promise<SparseImageWriter> {
    if (
      !Number.isInteger(blockSizeBytes) ||
      blockSizeBytes <= 0 ||
      blockSizeBytes % 4 !== 0 ||
      blockSizeBytes > 0x7fffffff
    ) {
      throw new RangeError(`sparse block size must be a positive multiple of 4, got ${blockSizeBytes}`);
    }
    if (!Number.isInteger(totalBlocks) || totalBlocks < 1 || totalBlocks > 0xffffffff) {
      throw new RangeError(`a sparse image holds 1 to 2^32-1 blocks, got ${totalBlocks}`);
    }
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx');
    } catch (err) {
      throw ioError('create sparse image', path, err);
    }
    const writer = new SparseImageWriter(path, fh, blockSizeBytes, totalBlocks);
    try {
      await writer.writeAt(0, [encodeSparseFileHeader(sparseFileHeader(blockSizeBytes, totalBlocks, 0))]);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    return writer;
  }

  /** Next block to be written (everything before it is decided). */
  get positionBlocks(): number {
    return this.positionBlock;
  }

  /**
   * Writes whole blocks of `data` at `startBlock`; a gap before it becomes DONT_CARE. Blocks that
   * are one 32-bit value repeated (zeros included) become FILL, the rest RAW. `data` is copied.
   */
  async writeData(startBlock: number, data: Uint8Array): Promise<void> {
    const bs = this.blockSizeBytes;
    if (data.length % bs !== 0)
      throw new RangeError(`writeData needs whole ${bs}-byte blocks, got ${data.length} bytes`);
    const blocks = data.length / bs;
    this.checkRange('writeData', startBlock, blocks);
    await this.skipTo(startBlock);
    this.hash.update(data);
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < blocks; i++) {
      const block = buf.subarray(i * bs, (i + 1) * bs);
      if (bs === 4 || block.subarray(4).equals(block.subarray(0, bs - 4))) {
        await this.append('fill', 1, block.readUInt32LE(0));
      } else {
        await this.append('raw', 1, 0);
        block.copy(this.raw!, (this.pendingBlocks - 1) * bs);
        if (this.pendingBlocks === this.maxRawBlocks) await this.flush();
      }
    }
  }

  /** Writes `blockCount` blocks of the 32-bit `fillValue` (little-endian) at `startBlock`. */
  async writeFill(startBlock: number, blockCount: number, fillValue: number): Promise<void> {
    this.checkRange('writeFill', startBlock, blockCount);
    await this.skipTo(startBlock);
    this.hashRepeated(fillValue >>> 0, blockCount);
    await this.append('fill', blockCount, fillValue >>> 0);
  }

  /** Marks everything from the current position up to `startBlock` as DONT_CARE (zeros when expanded). */
  async skipTo(startBlock: number): Promise<void> {
    this.checkRange('skipTo', startBlock, 0);
    const gap = startBlock - this.positionBlock;
    if (gap === 0) return;
    this.hashRepeated(0, gap);
    await this.append('dont-care', gap, 0);
  }

  /** DONT_CARE for `blockCount` blocks at `startBlock` (and for any gap before it). */
  async writeDontCare(startBlock: number, blockCount: number): Promise<void> {
    this.checkRange('writeDontCare', startBlock, blockCount);
    await this.skipTo(startBlock + blockCount);
  }

  /**
   * Marks the rest DONT_CARE, writes the last chunk, rewrites the header with the chunk count
   * (image_checksum 0), fsyncs and closes. The sha256 covers the expanded image.
   */
  async finish(): Promise<SparseWriteResult> {
    await this.skipTo(this.totalBlocks);
    await this.flush();
    await this.drain();
    await this.writeAt(0, [
      encodeSparseFileHeader(sparseFileHeader(this.blockSizeBytes, this.totalBlocks, this.chunkCount)),
    ]);
    try {
      await this.fh.sync();
      this.state = 'finished';
      await this.fh.close();
    } catch (err) {
      throw ioError('write sparse image', this.path, err);
    }
    return { sizeBytes: this.fileOffsetBytes, expandedSha256: this.hash.digest() };
  }

  /** Closes the file if open and deletes it. Safe after a failure, after finish(), and twice. */
  async abort(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'closed';
      await this.fh.close().catch(() => undefined);
    }
    this.state = 'closed';
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw ioError('delete partial sparse image', this.path, err);
    });
  }

  /** Refuses writes after finish/abort, backwards, or past the end (caller bugs: RangeError). */
  private checkRange(what: string, startBlock: number, blockCount: number): void {
    if (this.state !== 'open') throw new Error(`sparse image ${this.path}: ${what} after the writer was ${this.state}`);
    if (
      !Number.isInteger(startBlock) ||
      !Number.isInteger(blockCount) ||
      blockCount < 0 ||
      startBlock < this.positionBlock ||
      startBlock + blockCount > this.totalBlocks
    ) {
      throw new RangeError(
        `sparse image ${this.path}: ${what} of ${blockCount} blocks at block ${startBlock}: writes must move forward from block ${this.positionBlock} and end by block ${this.totalBlocks}`,
      );
    }
  }

  /** Extends the pending chunk with `blocks` of `kind`, or emits it and starts a new one. */
  private async append(kind: ChunkKind, blocks: number, fillValue: number): Promise<void> {
    if (blocks === 0) return;
    const mergeable = this.pendingKind === kind && (kind !== 'fill' || this.pendingFill === fillValue);
    if (!mergeable) {
      await this.flush();
      this.pendingKind = kind;
      this.pendingFill = fillValue;
      if (kind === 'raw') this.raw ??= Buffer.allocUnsafe(this.maxRawBlocks * this.blockSizeBytes);
    }
    this.pendingBlocks += blocks;
    this.positionBlock += blocks;
  }

  /** Emits the pending chunk, if any. */
  private async flush(): Promise<void> {
    const kind = this.pendingKind;
    if (kind === undefined) return;
    const blocks = this.pendingBlocks;
    this.pendingKind = undefined;
    this.pendingBlocks = 0;
    const parts: Buffer[] = [];
    if (kind === 'raw') {
      const data = this.raw!.subarray(0, blocks * this.blockSizeBytes);
      parts.push(
        encodeSparseChunkHeader({
          chunkType: SparseChunkType.raw,
          reserved: 0,
          chunkBlocks: blocks,
          totalBytes: SPARSE_CHUNK_HEADER_BYTES + data.length,
        }),
        data,
      );
    } else if (kind === 'fill') {
      const value = Buffer.alloc(4);
      value.writeUInt32LE(this.pendingFill, 0);
      parts.push(
        encodeSparseChunkHeader({
          chunkType: SparseChunkType.fill,
          reserved: 0,
          chunkBlocks: blocks,
          totalBytes: SPARSE_CHUNK_HEADER_BYTES + 4,
        }),
        value,
      );
    } else {
      parts.push(
        encodeSparseChunkHeader({
          chunkType: SparseChunkType.dontCare,
          reserved: 0,
          chunkBlocks: blocks,
          totalBytes: SPARSE_CHUNK_HEADER_BYTES,
        }),
      );
    }
    for (const part of parts) {
      if (part.length > STAGE_BYTES - this.stagedBytes) await this.drain();
      if (part.length >= STAGE_BYTES) {
        await this.writeAt(this.writtenBytes, [part]);
        this.writtenBytes += part.length;
      } else {
        part.copy((this.stage ??= Buffer.allocUnsafe(STAGE_BYTES)), this.stagedBytes);
        this.stagedBytes += part.length;
      }
      this.fileOffsetBytes += part.length;
    }
    this.chunkCount++;
  }

  /** Writes the staged chunk bytes to the file. */
  private async drain(): Promise<void> {
    if (this.stagedBytes === 0) return;
    await this.writeAt(this.writtenBytes, [this.stage!.subarray(0, this.stagedBytes)]);
    this.writtenBytes += this.stagedBytes;
    this.stagedBytes = 0;
  }

  /** Feeds `blocks` blocks of the repeated 32-bit `value` to the hash, 1 MiB at a time. */
  private hashRepeated(value: number, blocks: number): void {
    if (this.pattern === undefined || this.patternValue !== value) {
      this.pattern ??= Buffer.allocUnsafe(PATTERN_BYTES);
      const le = Buffer.alloc(4);
      le.writeUInt32LE(value, 0);
      this.pattern.fill(le);
      this.patternValue = value;
    }
    for (let remaining = blocks * this.blockSizeBytes; remaining > 0; remaining -= PATTERN_BYTES) {
      this.hash.update(remaining >= PATTERN_BYTES ? this.pattern : this.pattern.subarray(0, remaining));
    }
  }

  private async writeAt(position: number, parts: readonly Buffer[]): Promise<void> {
    let at = position;
    for (const part of parts) {
      await writeFull(this.fh, part, at, { action: 'write sparse image', path: this.path });
      at += part.length;
    }
  }
}
