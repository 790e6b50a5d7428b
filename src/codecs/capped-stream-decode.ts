// Runs compressed bytes through a Node decompression stream (zlib, brotli) into a buffer of
// exactly the declared size (LZMA goes through lzma-capped-decode.ts, without a stream). Owns the output cap: the first chunk that would pass it
// stops the stream and fails, so a decompression bomb costs at most one chunk beyond the cap.
// It does not know any format; callers check format-specific framing before and after.

import type { Duplex } from 'node:stream';
import { blobDecodeError, describeCause } from './codec-errors.js';

/** How to feed the stream. */
export interface CappedStreamOptions {
  /**
   * Input is written in slices of at most this many bytes, each after the previous one was
   * consumed. Decoders that expand a whole input chunk at once need small slices
   * to bound how much they produce before the cap is noticed. Default: all input at once.
   */
  readonly inputSliceBytes?: number;
}

/**
 * Decodes `input` through `stream` and returns exactly `expectedSizeBytes` bytes.
 * Memory: one Buffer of `expectedSizeBytes` plus the stream's own chunk buffers.
 * Throws PackageFormatError (`BLOB_DECODE_FAILED`) on a stream error, on output past the cap,
 * or on output short of it.
 */
export function decodeStreamCapped(
  what: string,
  stream: Duplex,
  input: Uint8Array,
  expectedSizeBytes: number,
  options: CappedStreamOptions = {},
): Promise<Buffer> {
  const output = Buffer.allocUnsafe(expectedSizeBytes);
  let producedBytes = 0;
  let settled = false;
  const sliceBytes = Math.max(1, options.inputSliceBytes ?? input.length);

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

    // Feed one slice at a time: the next slice is written only once the stream took the last
    // one, so a stream that is already over the cap is never handed more input.
    let offset = 0;
    const feedNext = (error?: Error | null): void => {
      if (settled) return;
      if (error) {
        fail(blobDecodeError(what, `corrupt stream: ${describeCause(error)}`, error));
        return;
      }
      if (offset >= input.length) {
        stream.end();
        return;
      }
      // A Buffer view, not a copy: some stream implementations accept only Buffers.
      const slice = Buffer.from(input.buffer, input.byteOffset + offset, Math.min(sliceBytes, input.length - offset));
      offset += slice.length;
      stream.write(slice, feedNext);
    };
    feedNext();
  });
}
