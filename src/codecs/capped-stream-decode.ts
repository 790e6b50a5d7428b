// Runs compressed bytes through a Node decompression stream (zlib, brotli) into a buffer of
// exactly the declared size (LZMA goes through lzma-capped-decode.ts, without a stream). Owns the
// output cap: the first chunk that would pass it stops the stream and fails, so a decompression
// bomb costs at most one chunk beyond the cap (these streams emit their output in small chunks).
// It does not know any format; callers check format-specific framing before and after.

import type { Duplex } from 'node:stream';
import { blobDecodeError, describeCause } from './codec-errors.js';
import { decodeOutput } from './decode-output.js';

/**
 * Decodes `input` through `stream` and returns exactly `expectedSizeBytes` bytes (in `into` when
 * given, see decodeOutput). Memory: one Buffer of `expectedSizeBytes` (unless `into`) plus the
 * stream's own chunk buffers.
 * Throws PackageFormatError (`BLOB_DECODE_FAILED`) on a stream error, on output past the cap,
 * or on output short of it.
 */
export function decodeStreamCapped(
  what: string,
  stream: Duplex,
  input: Uint8Array,
  expectedSizeBytes: number,
  into?: Buffer,
): Promise<Buffer> {
  const output = decodeOutput(expectedSizeBytes, into);
  let producedBytes = 0;
  let settled = false;

  return new Promise<Buffer>((resolve, reject) => {
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      stream.destroy();
      reject(error);
    };

    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (producedBytes + chunk.length > expectedSizeBytes) {
        fail(blobDecodeError(what, `output exceeds the declared ${expectedSizeBytes} bytes`));
        return;
      }
      chunk.copy(output, producedBytes);
      producedBytes += chunk.length;
    });
    stream.on('error', (error: unknown) =>
      fail(blobDecodeError(what, `corrupt stream: ${describeCause(error)}`, error)),
    );
    stream.on('end', () => {
      if (settled) return;
      if (producedBytes !== expectedSizeBytes) {
        fail(blobDecodeError(what, `output is ${producedBytes} bytes, declared ${expectedSizeBytes}`));
        return;
      }
      settled = true;
      resolve(output);
    });

    // The input in one write (a Buffer view, not a copy), then the end once the stream took it.
    stream.write(Buffer.from(input.buffer, input.byteOffset, input.length), (error?: Error | null) => {
      if (settled) return;
      if (error) fail(blobDecodeError(what, `corrupt stream: ${describeCause(error)}`, error));
      else stream.end();
    });
  });
}
