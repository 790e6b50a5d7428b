// gzip decoder: exactly ONE RFC 1952 member. The header is parsed here, the deflate body goes
// through Node's raw inflater (capped), then the trailer (CRC-32, ISIZE) must be the last 8
// bytes. Node's gunzip would silently continue into a second member; FORMAT.md forbids that.

import zlib from 'node:zlib';
import { hexBytes } from '../errors/ota-error.js';
import { decodeStreamCapped } from './capped-stream-decode.js';
import { assertExpectedSize, blobDecodeError } from './codec-errors.js';
import type { Decoder } from './decoder.js';
import { GZIP_CODEC } from './gzip-descriptor.js';

/** Largest decoder output chunk; also the most a bomb can produce past the cap. */
const MAX_CHUNK_BYTES = 16 * 1024;
/** Member header flags (RFC 1952 §2.3.1). */
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const RESERVED_FLAGS = 0xe0;
const TRAILER_BYTES = 8;

/** Reads gzip blobs (wire id 1). */
export class GzipDecoder implements Decoder {
  readonly name = GZIP_CODEC.name;
  readonly wireId = GZIP_CODEC.wireId;

  /**
   * Inflates the one member in `data` into exactly `expectedSizeBytes`, stopping at the first
   * chunk past the cap; checks its CRC-32 and ISIZE. Rejects a second member or any other
   * byte after the first member's trailer. (The 32 KiB window needs no memory check.)
   */
  async decode(data: Uint8Array, expectedSizeBytes: number, _memoryBytes?: number, into?: Buffer): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    const bodyStart = memberHeaderBytes(data);
    const inflater = zlib.createInflateRaw({ chunkSize: Math.min(MAX_CHUNK_BYTES, Math.max(64, expectedSizeBytes)) });
    const out = await decodeStreamCapped(this.name, inflater, data.subarray(bodyStart), expectedSizeBytes, into);
    const trailerAt = bodyStart + inflater.bytesWritten;
    if (trailerAt + TRAILER_BYTES > data.length) throw fail('member ends before its 8-byte trailer');
    const trailer = Buffer.from(data.buffer, data.byteOffset + trailerAt, TRAILER_BYTES);
    if (trailer.readUInt32LE(0) !== zlib.crc32(out)) throw fail('CRC-32 in the trailer does not match the data');
    if (trailer.readUInt32LE(4) !== out.length % 2 ** 32) throw fail('ISIZE in the trailer does not match the data');
    const after = data.length - trailerAt - TRAILER_BYTES;
    if (after > 0) throw fail(`${after} bytes after the gzip member (one member only)`);
    return out;
  }
}

/** Length of the member header (RFC 1952 §2.3), checked. */
function memberHeaderBytes(data: Uint8Array): number {
  if (data.length < 10 || data[0] !== 0x1f || data[1] !== 0x8b || data[2] !== 8)
    throw fail(`bad member header at offset 0: expected 1f 8b 08, got ${hexBytes(data.subarray(0, 3))}`);
  const flags = data[3]!;
  if ((flags & RESERVED_FLAGS) !== 0) throw fail(`reserved header flags set (${flags})`);
  let at = 10;
  if (flags & FEXTRA) {
    if (at + 2 > data.length) throw fail('header ends inside FEXTRA');
    at += 2 + (data[at]! | (data[at + 1]! << 8));
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    while (at < data.length && data[at] !== 0) at++;
    at++;
  }
  if (flags & FHCRC) at += 2;
  if (at > data.length) throw fail('header runs past the end of the blob');
  return at;
}

function fail(detail: string): Error {
  return blobDecodeError('gzip', detail);
}
