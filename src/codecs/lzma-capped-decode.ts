// Decodes through a lzma-native coder driven directly and synchronously (no Node stream, no event
// loop turn per slice) into a buffer of exactly the declared size. The input is fed in slices and
// the cap is checked after each, so a decompression bomb expands at most one slice past it (the
// slice size bounds that: lzmaInputSliceBytes). Decode side: LZMA2 blocks and xz streams.

import type { NativeCoder } from 'lzma-native';
import { blobDecodeError, describeCause } from './codec-errors.js';

/** Output buffers the coder hands back at a time: fewer, larger calls than its 64 KiB default. */
const OUTPUT_BUFFER_BYTES = 1024 * 1024;

/**
 * Runs `input` through `coder` (a decoder, set up) and returns exactly `expectedSizeBytes` bytes.
 * Throws PackageFormatError (`BLOB_DECODE_FAILED`, labelled `what`) on a liblzma error, output
 * past the cap, or output short of it. Bytes after the stream's end are not read.
 */
export function decodeCapped(
  what: string,
  coder: NativeCoder,
  input: Uint8Array,
  expectedSizeBytes: number,
  sliceBytes: number,
): Buffer {
  const output = Buffer.allocUnsafe(expectedSizeBytes);
  let producedBytes = 0;
  let ended = false;
  let failure: Error | undefined;
  coder.setBufsize(Math.min(OUTPUT_BUFFER_BYTES, Math.max(4096, expectedSizeBytes)));
  coder.bufferHandler = (buf, _processedChunks, err) => {
    if (failure || ended) return;
    if (err) failure = blobDecodeError(what, `corrupt stream: ${describeCause(err)}`, err);
    else if (buf === null) ended = true;
    else if (buf) {
      if (producedBytes + buf.length > expectedSizeBytes)
        failure = blobDecodeError(what, `output exceeds the declared ${expectedSizeBytes} bytes`);
      else producedBytes += buf.copy(output, producedBytes);
    }
  };
  try {
    const step = Math.max(1, sliceBytes);
    for (let at = 0; at < input.length && !failure && !ended; at += step) {
      const end = Math.min(input.length, at + step);
      coder.code(Buffer.from(input.buffer, input.byteOffset + at, end - at), false);
    }
    if (!failure && !ended) coder.code(null, false); // finish: liblzma reports a truncated stream
  } finally {
    coder.resetUnderlying();
  }
  if (failure) throw failure;
  if (!ended) throw blobDecodeError(what, 'corrupt stream: the stream does not end');
  if (producedBytes !== expectedSizeBytes)
    throw blobDecodeError(what, `output is ${producedBytes} bytes, declared ${expectedSizeBytes}`);
  return output;
}
