// Decodes through a lzma-native coder driven directly and synchronously (no Node stream, no event
// loop turn per slice) into a buffer of exactly the declared size. The input is fed in slices and
// the cap is checked after each, so a decompression bomb expands at most one slice past it (the
// slice size bounds that: lzmaInputSliceBytes). Decode side: LZMA2 blocks and xz streams.
// A coder is used for one decode and reset: never pool them (a reset coder keeps queued output).

import type { NativeCoder } from 'lzma-native';
import { blobDecodeError, describeCause } from './codec-errors.js';
import { decodeOutput } from './decode-output.js';

/**
 * Runs `input` through `coder` (a decoder, set up) and returns exactly `expectedSizeBytes` bytes
 * (in `into` when given: a buffer of exactly that length, whose contents are overwritten).
 * Throws PackageFormatError (`BLOB_DECODE_FAILED`, labelled `what`) on a liblzma error, output
 * past the cap, output short of it, or input left after the stream's end (the stream must be all of it).
 */
export function decodeCapped(
  what: string,
  coder: NativeCoder,
  input: Uint8Array,
  expectedSizeBytes: number,
  sliceBytes: number,
  into?: Buffer,
): Buffer {
  const output = decodeOutput(expectedSizeBytes, into);
  let producedBytes = 0;
  let ended = false;
  let consumedBytes = 0;
  let failure: Error | undefined;
  // The coder's own output buffer size (64 KiB): it allocates one per code() call, i.e. per slice.
  coder.bufferHandler = (buf, _processedChunks, err, totalIn) => {
    if (failure || ended) return;
    if (err) failure = blobDecodeError(what, `corrupt stream: ${describeCause(err)}`, err);
    else if (buf === null) {
      ended = true;
      consumedBytes = totalIn ?? -1;
    } else if (buf) {
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
  if (consumedBytes !== input.length)
    throw blobDecodeError(what, `the stream ends after ${consumedBytes} of its ${input.length} bytes`);
  if (producedBytes !== expectedSizeBytes)
    throw blobDecodeError(what, `output is ${producedBytes} bytes, declared ${expectedSizeBytes}`);
  return output;
}
