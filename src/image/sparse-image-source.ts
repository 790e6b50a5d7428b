// SparseImageSource: a BlockSource over an Android sparse image, read in place (never expanded).
// open() walks the chunk headers once into a compact chunk table and, only when the image carries
// CRC32 chunks or an image_checksum, verifies them in one streaming pass. Owns validation policy
// and random reads; the byte layout is in sparse-format.ts. Memory: the chunk table (17 bytes per
// entry, ≤ 34 with doubling, one entry per chunk present in the file, adjacent FILL/DONT_CARE
// merged), plus a 64 KiB header window and a 1 MiB CRC buffer while opening.

import { ImageError } from '../errors/ota-error.js';
import type { BlockSource, SourceRun } from './block-source.js';
import type { PositionalReader } from './file-range.js';
import {
  SPARSE_CHUNK_HEADER_BYTES,
  SPARSE_FILE_HEADER_BYTES,
  SparseChunkType,
  decodeSparseChunkHeader,
  decodeSparseFileHeader,
  sparseChunkHeaderProblem,
  sparseChunkTypeName,
  sparseFileHeaderProblem,
  type SparseFileHeader,
} from './sparse-format.js';
import { crc32 } from '../hashing/crc32.js';
import { openRegularFile } from './open-read-only.js';
import { readFull, readUpTo } from './read-full.js';
import { upperBound } from '../extents/lower-bound.js';

const RAW = 0;
const FILL = 1;
const DONT_CARE = 2;
/** Bytes of chunk headers read per file read while scanning. */
const SCAN_WINDOW_BYTES = 64 * 1024;
/** Bytes hashed per crc32 call in the verification pass. */
const CRC_PIECE_BYTES = 1024 * 1024;

/** A CRC32 chunk: where it is and the crc32 it promises for the blocks before `atBlock`. */
interface CrcCheckpoint {
  readonly chunkIndex: number;
  readonly headerOffsetBytes: number;
  readonly atBlock: number;
  readonly expected: number;
}

/**
 * The chunks that cover output blocks, in order and contiguous, as parallel typed arrays. Grows by
 * doubling with the chunks actually read; never sized from a header count. `payload` is the file
 * offset of a RAW chunk's data or a FILL chunk's 32-bit value.
 */
class ChunkTable {
  count = 0;
  startBlock = new Uint32Array(16);
  blockCount = new Uint32Array(16);
  kind = new Uint8Array(16);
  payload = new Float64Array(16);

  /** Appends a chunk, merging it into the previous one when both are DONT_CARE or the same FILL. */
  push(kind: number, startBlock: number, blockCount: number, payload: number): void {
    const last = this.count - 1;
    if (
      last >= 0 &&
      kind !== RAW &&
      this.kind[last] === kind &&
      (kind === DONT_CARE || this.payload[last] === payload)
    ) {
      this.blockCount[last] = this.blockCount[last]! + blockCount;
      return;
    }
    if (this.count === this.kind.length) this.grow();
    this.startBlock[this.count] = startBlock;
    this.blockCount[this.count] = blockCount;
    this.kind[this.count] = kind;
    this.payload[this.count] = payload;
    this.count++;
  }

  /** Index of the chunk holding `block` (which must be inside the image). */
  find(block: number): number {
    // The last chunk starting at or before `block` (0 when there is none, as before).
    return Math.max(0, upperBound(this.startBlock, block, this.count) - 1);
  }

  private grow(): void {
    const size = this.kind.length * 2;
    const copy = <T extends Uint32Array | Uint8Array | Float64Array>(from: T, to: T): T => (to.set(from), to);
    this.startBlock = copy(this.startBlock, new Uint32Array(size));
    this.blockCount = copy(this.blockCount, new Uint32Array(size));
    this.kind = copy(this.kind, new Uint8Array(size));
    this.payload = copy(this.payload, new Float64Array(size));
  }
}

/** An Android sparse image read in place. The file is opened with flag `r`: never for writing. */
export class SparseImageSource implements BlockSource {
  readonly format = 'sparse';
  /** Expanded size: total_blks × blk_sz. */
  readonly sizeBytes: number;
  /** The sparse file's block size (blk_sz). */
  readonly blockSizeBytes: number;
  private runs: SourceRun[] | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: PositionalReader,
    header: SparseFileHeader,
    private readonly table: ChunkTable,
  ) {
    this.blockSizeBytes = header.blockSizeBytes;
    this.sizeBytes = header.totalBlocks * header.blockSizeBytes;
  }

  /**
   * Opens `path` read-only, scans and validates its chunks, and verifies its CRC32s if it has any.
   * Throws IoError (exit 8) if it cannot be opened, ImageError (exit 3) if it is not a valid sparse image.
   */
  static async open(path: string): Promise<SparseImageSource> {
    const { fh, sizeBytes } = await openRegularFile(
      path,
      'open image',
      () => new ImageError('IMAGE_NOT_FILE', `${path} is not a regular file`),
    );
    try {
      return await SparseImageSource.fromHandle(path, fh, sizeBytes);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * Takes over an already-open handle (open-image.ts after sniffing the magic), or a FileRange
   * (open-image-range.ts), of a file of `fileSizeBytes`. On success the source owns the handle;
   * on failure the caller still does.
   */
  static async fromHandle(path: string, fh: PositionalReader, fileSizeBytes: number): Promise<SparseImageSource> {
    const scanner = new Scanner(path, fh, fileSizeBytes);
    const { header, table, checkpoints } = await scanner.scan();
    const source = new SparseImageSource(path, fh, header, table);
    if (checkpoints.length > 0 || header.imageChecksum !== 0)
      await source.verifyCrc32(checkpoints, header.imageChecksum);
    return source;
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0)
      throw new RangeError(`read offset must be a non-negative integer, got ${offsetBytes}`);
    const out = Buffer.alloc(lengthBytes);
    const endBytes = Math.min(offsetBytes + lengthBytes, this.sizeBytes);
    const bs = this.blockSizeBytes;
    const t = this.table;
    let pos = offsetBytes;
    for (let i = pos < endBytes ? t.find(Math.floor(pos / bs)) : 0; pos < endBytes; i++) {
      const chunkStartBytes = t.startBlock[i]! * bs;
      const stop = Math.min(endBytes, chunkStartBytes + t.blockCount[i]! * bs);
      if (t.kind[i] === RAW) {
        await this.readFile(out, pos - offsetBytes, stop - pos, t.payload[i]! + (pos - chunkStartBytes));
      } else if (t.kind[i] === FILL && t.payload[i] !== 0) {
        out.fill(fillPattern(t.payload[i]!, pos - chunkStartBytes), pos - offsetBytes, stop - offsetBytes);
      }
      pos = stop;
    }
    return out;
  }

  knownRuns(): readonly SourceRun[] {
    if (this.runs) return this.runs;
    const t = this.table;
    const bs = this.blockSizeBytes;
    const runs: SourceRun[] = [];
    for (let i = 0; i < t.count; i++) {
      const offsetBytes = t.startBlock[i]! * bs;
      const sizeBytes = t.blockCount[i]! * bs;
      if (t.kind[i] === FILL) runs.push({ kind: 'fill', offsetBytes, sizeBytes, fillValue: t.payload[i]! });
      else if (t.kind[i] === DONT_CARE) runs.push({ kind: 'dont-care', offsetBytes, sizeBytes });
    }
    this.runs = runs;
    return runs;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private async readFile(into: Buffer, at: number, lengthBytes: number, filePosition: number): Promise<void> {
    await readFull(this.fh, into.subarray(at, at + lengthBytes), filePosition, {
      action: 'read image',
      path: this.path,
      onShort: (endedAtBytes) =>
        new ImageError(
          'SPARSE_TRUNCATED',
          `sparse image ${this.path}: file ended at byte ${endedAtBytes} while reading RAW data; was it changed after it was opened?`,
        ),
    });
  }

  /**
   * One sequential pass computing the crc32 of the expanded image (FILL expanded, DONT_CARE as
   * zeros, as libsparse does), checked at each CRC32 chunk and, if non-zero, against image_checksum.
   */
  private async verifyCrc32(checkpoints: readonly CrcCheckpoint[], imageChecksum: number): Promise<void> {
    const t = this.table;
    const bs = this.blockSizeBytes;
    const piece = Buffer.alloc(CRC_PIECE_BYTES); // a multiple of 4, so fill patterns stay in phase
    let crc = 0;
    let next = 0;
    const check = (block: number): void => {
      for (; next < checkpoints.length && checkpoints[next]!.atBlock === block; next++) {
        const c = checkpoints[next]!;
        if (c.expected !== crc) {
          throw new ImageError(
            'SPARSE_CRC_MISMATCH',
            `sparse image ${this.path}: chunk ${c.chunkIndex} at byte ${c.headerOffsetBytes}: CRC32 chunk expects ${hex32(c.expected)}, but the expanded image before block ${block} (${block * bs} bytes) has crc32 ${hex32(crc)}`,
          );
        }
      }
    };
    for (let i = 0; i < t.count; i++) {
      const endBlock = t.startBlock[i]! + t.blockCount[i]!;
      if (t.kind[i] !== RAW)
        piece.fill(
          t.kind[i] === FILL ? fillPattern(t.payload[i]!, 0) : 0,
          0,
          Math.min(piece.length, t.blockCount[i]! * bs),
        );
      for (let block = t.startBlock[i]!; block < endBlock;) {
        check(block);
        const segmentEnd =
          next < checkpoints.length ? Math.min(endBlock, Math.max(block + 1, checkpoints[next]!.atBlock)) : endBlock;
        for (let remaining = (segmentEnd - block) * bs; remaining > 0;) {
          const n = Math.min(remaining, piece.length);
          if (t.kind[i] === RAW)
            await this.readFile(piece, 0, n, t.payload[i]! + (segmentEnd * bs - remaining - t.startBlock[i]! * bs));
          crc = crc32(piece.subarray(0, n), crc);
          remaining -= n;
        }
        block = segmentEnd;
      }
    }
    check(this.sizeBytes / bs);
    if (imageChecksum !== 0 && imageChecksum !== crc) {
      throw new ImageError(
        'SPARSE_CRC_MISMATCH',
        `sparse image ${this.path}: image_checksum ${hex32(imageChecksum)} in the file header does not match the crc32 ${hex32(crc)} of the ${this.sizeBytes}-byte expanded image`,
      );
    }
  }
}

/** Walks the file header and the chunk headers once, validating as it goes. */
class Scanner {
  private scratch: Buffer | undefined;
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly path: string,
    private readonly fh: PositionalReader,
    private readonly fileSizeBytes: number,
  ) {}

  async scan(): Promise<{ header: SparseFileHeader; table: ChunkTable; checkpoints: CrcCheckpoint[] }> {
    const size = this.fileSizeBytes;
    const head = await this.bytesAt(0, SPARSE_FILE_HEADER_BYTES);
    if (head.length < SPARSE_FILE_HEADER_BYTES) {
      throw new ImageError(
        'SPARSE_TRUNCATED',
        `sparse image ${this.path}: file header cut short: the file is ${size} bytes, the header needs ${SPARSE_FILE_HEADER_BYTES}`,
      );
    }
    const header = decodeSparseFileHeader(head);
    const problem = sparseFileHeaderProblem(header);
    if (problem) throw new ImageError(problem.code, `sparse image ${this.path}: ${problem.detail}`);
    const { blockSizeBytes: bs, totalBlocks, totalChunks } = header;
    const table = new ChunkTable();
    const checkpoints: CrcCheckpoint[] = [];
    let pos = SPARSE_FILE_HEADER_BYTES;
    let block = 0;
    let index = 0;
    for (; index < totalChunks; index++) {
      const fail = (code: 'SPARSE_BAD_CHUNK' | 'SPARSE_TRUNCATED', detail: string): ImageError =>
        new ImageError(code, `sparse image ${this.path}: chunk ${index} at byte ${pos}: ${detail}`);
      const remaining = size - pos;
      if (remaining === 0)
        throw fail(
          'SPARSE_TRUNCATED',
          `the file ends after ${index} of the ${totalChunks} chunks its header declares (file is ${size} bytes)`,
        );
      const bytes = await this.bytesAt(pos, SPARSE_CHUNK_HEADER_BYTES + 4);
      if (bytes.length < SPARSE_CHUNK_HEADER_BYTES)
        throw fail(
          'SPARSE_TRUNCATED',
          `chunk header cut short: ${bytes.length} of ${SPARSE_CHUNK_HEADER_BYTES} bytes before the end of the file (file is ${size} bytes)`,
        );
      const c = decodeSparseChunkHeader(bytes);
      const bad = sparseChunkHeaderProblem(c, bs);
      if (bad) throw fail('SPARSE_BAD_CHUNK', bad);
      const name = sparseChunkTypeName(c.chunkType);
      if (c.totalBytes > remaining) {
        const what =
          c.chunkType === SparseChunkType.raw
            ? `RAW chunk of ${c.chunkBlocks} blocks runs past`
            : `${name} chunk (${c.totalBytes} bytes) is cut short by`;
        throw fail('SPARSE_TRUNCATED', `${what} the end of the file (file is ${size} bytes)`);
      }
      if (block + c.chunkBlocks > totalBlocks) {
        throw fail(
          'SPARSE_BAD_CHUNK',
          `${name} chunk of ${c.chunkBlocks} blocks starting at block ${block} runs past total_blks ${totalBlocks}`,
        );
      }
      const value = c.totalBytes === SPARSE_CHUNK_HEADER_BYTES + 4 ? bytes.readUInt32LE(SPARSE_CHUNK_HEADER_BYTES) : 0;
      if (c.chunkType === SparseChunkType.crc32)
        checkpoints.push({ chunkIndex: index, headerOffsetBytes: pos, atBlock: block, expected: value });
      else if (c.chunkBlocks > 0) {
        if (c.chunkType === SparseChunkType.raw) table.push(RAW, block, c.chunkBlocks, pos + SPARSE_CHUNK_HEADER_BYTES);
        else if (c.chunkType === SparseChunkType.fill) table.push(FILL, block, c.chunkBlocks, value);
        else table.push(DONT_CARE, block, c.chunkBlocks, 0);
      }
      pos += c.totalBytes;
      block += c.chunkBlocks;
    }
    if (pos < size) {
      const next = await this.bytesAt(pos, SPARSE_CHUNK_HEADER_BYTES);
      const looksLikeChunk =
        next.length === SPARSE_CHUNK_HEADER_BYTES &&
        sparseChunkHeaderProblem(decodeSparseChunkHeader(next), bs) === undefined;
      const detail = looksLikeChunk
        ? `another chunk follows the ${totalChunks} chunks the file header declares (total_chunks ${totalChunks})`
        : `${size - pos} trailing bytes after the last of the ${totalChunks} chunks the file header declares (file is ${size} bytes)`;
      throw new ImageError('SPARSE_BAD_CHUNK', `sparse image ${this.path}: chunk ${index} at byte ${pos}: ${detail}`);
    }
    if (block !== totalBlocks) {
      throw new ImageError(
        'SPARSE_BAD_HEADER',
        `sparse image ${this.path}: its ${totalChunks} chunks cover ${block} blocks, but the file header says total_blks ${totalBlocks} (chunks end at byte ${pos})`,
      );
    }
    return { header, table, checkpoints };
  }

  /** Up to `length` bytes at `pos` (fewer at the end of the file), from a window of chunk headers. */
  private async bytesAt(pos: number, length: number): Promise<Buffer> {
    const windowEnd = this.windowStart + this.window.length;
    if (pos >= this.windowStart && pos + length <= windowEnd)
      return this.window.subarray(pos - this.windowStart, pos - this.windowStart + length);
    const want = Math.max(0, Math.min(SCAN_WINDOW_BYTES, this.fileSizeBytes - pos));
    const buf = (this.scratch ??= Buffer.alloc(SCAN_WINDOW_BYTES));
    const got = await readUpTo(this.fh, buf.subarray(0, want), pos, { action: 'read image', path: this.path });
    this.window = buf.subarray(0, got);
    this.windowStart = pos;
    return this.window.subarray(0, Math.min(length, got));
  }
}

/** The 4 little-endian bytes of `value`, rotated to start `phaseBytes` into the pattern. */
function fillPattern(value: number, phaseBytes: number): Buffer {
  const le = Buffer.alloc(4);
  le.writeUInt32LE(value >>> 0, 0);
  const k = phaseBytes % 4;
  return k === 0 ? le : Buffer.concat([le.subarray(k), le.subarray(0, k)]);
}

function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}
