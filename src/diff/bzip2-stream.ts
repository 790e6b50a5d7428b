// Decodes the bzip2 streams inside a BSDIFF40 patch with seek-bzip (a maintained, pure-JavaScript
// decoder), so a patch never reaches native libbzip2 1.0.6 (CVE-2019-12900), and caps the output:
// decoding stops with an error as soon as it would pass the size the patch header declared.

import Bunzip from 'seek-bzip';
import { blobDecodeError, describeCause } from '../codecs/codec-errors.js';

const WHAT = 'bsdiff';

/** One decoded bzip2 stream. */
export interface Bzip2Result {
  readonly output: Buffer;
}

class CapExceeded extends Error {}

/** Output stream for seek-bzip that never grows past `maxOutputBytes`. */
class CappedOutput {
  private buffer = Buffer.alloc(0);
  sizeBytes = 0;

  constructor(private readonly maxOutputBytes: number) {}

  writeByte(byte: number): void {
    if (this.sizeBytes >= this.maxOutputBytes) throw new CapExceeded();
    if (this.sizeBytes === this.buffer.length) {
      const grown = Buffer.alloc(Math.min(this.maxOutputBytes, Math.max(4096, this.buffer.length * 2)));
      this.buffer.copy(grown);
      this.buffer = grown;
    }
    this.buffer[this.sizeBytes++] = byte;
  }

  result(): Buffer {
    return this.buffer.subarray(0, this.sizeBytes);
  }
}

/**
 * Decodes the single bzip2 stream in `data`. Memory: the output (at most `maxOutputBytes`)
 * plus the decoder's block buffer (4 bytes per byte of block size: 3.6 MB at `-9`).
 * Throws PackageFormatError (`BLOB_DECODE_FAILED`) on corrupt, truncated or oversized data.
 */
export function decodeBzip2(data: Uint8Array, maxOutputBytes: number): Bzip2Result {
  if (data.length === 0) throw blobDecodeError(WHAT, 'empty bzip2 stream');
  const out = new CappedOutput(maxOutputBytes);
  try {
    Bunzip.decode(Buffer.from(data.buffer, data.byteOffset, data.byteLength), out, false);
  } catch (error) {
    if (error instanceof CapExceeded) throw blobDecodeError(WHAT, `bzip2 stream expands past ${maxOutputBytes} bytes`);
    throw blobDecodeError(WHAT, `corrupt bzip2 stream: ${describeCause(error)}`, error);
  }
  return { output: out.result() };
}
