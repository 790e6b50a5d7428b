// Decodes the bzip2 streams inside a BSDIFF40 patch with seek-bzip (a maintained, pure-JavaScript
// decoder), so a patch never reaches native libbzip2 1.0.6 (CVE-2019-12900), and caps the output:
// decoding stops with an error as soon as it would pass the size the patch header declared.

import type BunzipModule from 'seek-bzip';
import { createRequire } from 'node:module';
import { blobDecodeError, describeCause } from '../codecs/codec-errors.js';

const WHAT = 'bsdiff';

/** One decoded bzip2 stream. */
export interface Bzip2Result {
  readonly output: Buffer;
}

class CapExceeded extends Error {}

/** Bytes of each output chunk: growth never copies, so the peak is the output itself. */
const OUTPUT_CHUNK_BYTES = 1024 * 1024;

/** seek-bzip, loaded on first use (only BSDIFF40 patches need it). */
let Bunzip: typeof BunzipModule | undefined;

/** Output stream for seek-bzip that never grows past `maxOutputBytes`. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private chunk = Buffer.alloc(0);
  private inChunk = 0;
  sizeBytes = 0;

  constructor(private readonly maxOutputBytes: number) {}

  writeByte(byte: number): void {
    if (this.sizeBytes >= this.maxOutputBytes) throw new CapExceeded();
    if (this.inChunk === this.chunk.length) {
      // allocUnsafe: only the pages written are ever touched.
      this.chunk = Buffer.allocUnsafe(Math.min(OUTPUT_CHUNK_BYTES, this.maxOutputBytes - this.sizeBytes));
      this.chunks.push(this.chunk);
      this.inChunk = 0;
    }
    this.chunk[this.inChunk++] = byte;
    this.sizeBytes++;
  }

  result(): Buffer {
    if (this.chunks.length === 1) return this.chunk.subarray(0, this.inChunk);
    const last = this.chunks.length - 1;
    return Buffer.concat(this.chunks.map((c, i) => (i === last ? c.subarray(0, this.inChunk) : c)));
  }
}

/** Input stream for seek-bzip that tracks how many bytes the decoder read. */
class CountingInput {
  pos = 0;

  constructor(private readonly data: Uint8Array) {}

  readByte(): number {
    if (this.pos >= this.data.length) throw new Error('unexpected end of the bzip2 stream');
    return this.data[this.pos++]!;
  }

  read(buffer: Uint8Array, offset: number, lengthBytes: number): number {
    for (let i = 0; i < lengthBytes; i++) buffer[offset + i] = this.readByte();
    return lengthBytes;
  }

  seek(pos: number): void {
    this.pos = pos;
  }

  eof(): boolean {
    return this.pos >= this.data.length;
  }
}

/**
 * Decodes the single bzip2 stream in `data`. Memory: the output (at most `maxOutputBytes`)
 * plus the decoder's block buffer (4 bytes per byte of block size: 3.6 MB at `-9`).
 * Throws PackageFormatError (`BLOB_DECODE_FAILED`) on corrupt, truncated or oversized data, and
 * on any byte after the stream (a second, concatenated stream included).
 */
export function decodeBzip2(data: Uint8Array, maxOutputBytes: number): Bzip2Result {
  if (data.length === 0) throw blobDecodeError(WHAT, 'empty bzip2 stream');
  const out = new CappedOutput(maxOutputBytes);
  const input = new CountingInput(data);
  try {
    (Bunzip ??= createRequire(import.meta.url)('seek-bzip') as typeof BunzipModule).decode(input, out, false);
  } catch (error) {
    if (error instanceof CapExceeded) throw blobDecodeError(WHAT, `bzip2 stream expands past ${maxOutputBytes} bytes`);
    throw blobDecodeError(WHAT, `corrupt bzip2 stream: ${describeCause(error)}`, error);
  }
  // seek-bzip stops after the first stream's end-of-stream marker: a second stream or any other
  // byte after it would be silently ignored. FORMAT.md allows exactly one stream per block.
  if (input.pos !== data.length)
    throw blobDecodeError(WHAT, `${data.length - input.pos} bytes after the end of the bzip2 stream`);
  return { output: out.result() };
}
