// Decodes through a lzma-native coder driven directly (no Node stream) into a buffer of exactly
// the declared size, checking the cap after each input slice, so a decompression bomb expands at
// most one slice past it. The caller cuts the input: xz streams in slices small enough to bound
// the overshoot (evenSlices, lzmaInputSliceBytes), raw LZMA2 streams at chunk boundaries whose
// declared sizes were checked first (lzma2-chunk-scan.ts). Two drivers: on this thread (no event
// loop turn per slice) and on the libuv pool, which leaves this thread free while it decodes.
// Decode side only. A coder is used for one decode and reset: never pool them (a reset coder
// keeps queued output).

import type { NativeCoder } from 'lzma-native';
import { blobDecodeError, describeCause } from './codec-errors.js';
import { decodeOutput } from './decode-output.js';
import { nativeWork } from './native-work.js';

/** Ends of `sliceBytes`-byte slices of a `lengthBytes`-byte input (the last one shorter). */
export function evenSlices(lengthBytes: number, sliceBytes: number): number[] {
  const step = Math.max(1, sliceBytes);
  const ends: number[] = [];
  for (let at = step; at < lengthBytes; at += step) ends.push(at);
  if (lengthBytes > 0) ends.push(lengthBytes);
  return ends;
}

/**
 * Runs `input` through `coder` (a decoder, set up) on this thread, in the slices ending at
 * `inputEnds` (ascending, the last one the input's length), and returns exactly
 * `expectedSizeBytes` bytes (in `into` when given: a buffer of exactly that length, whose
 * contents are overwritten). Throws PackageFormatError (`BLOB_DECODE_FAILED`, labelled `what`)
 * on a liblzma error, output past the cap, output short of it, or input left after the stream's
 * end (the stream must be all of it).
 */
export function decodeCapped(
  what: string,
  coder: NativeCoder,
  input: Uint8Array,
  expectedSizeBytes: number,
  inputEnds: readonly number[],
  into?: Buffer,
): Buffer {
  const sink = new CappedSink(what, coder, expectedSizeBytes, into);
  try {
    for (const slice of slicesOf(input, inputEnds, sink)) coder.code(slice, false);
  } finally {
    coder.resetUnderlying();
  }
  return sink.result(input.length);
}

/**
 * decodeCapped on the libuv pool: each slice is decoded by a pool thread while this one runs,
 * one slice at a time. Same result and errors; counted as native work while in flight.
 */
export function decodeCappedOnPool(
  what: string,
  coder: NativeCoder,
  input: Uint8Array,
  expectedSizeBytes: number,
  inputEnds: readonly number[],
  into?: Buffer,
): Promise<Buffer> {
  const sink = new CappedSink(what, coder, expectedSizeBytes, into);
  const run = async (): Promise<Buffer> => {
    try {
      for (const slice of slicesOf(input, inputEnds, sink)) await sink.codeOnPool(slice);
    } finally {
      coder.resetUnderlying();
    }
    return sink.result(input.length);
  };
  return nativeWork(run());
}

/**
 * The slices of `input` ending at `inputEnds`, then null (finish: liblzma reports a truncated
 * stream), each taken only while `sink` is open (no end or failure yet: a coder that ended resets
 * itself and would never answer another call).
 */
function* slicesOf(input: Uint8Array, inputEnds: readonly number[], sink: CappedSink): Generator<Buffer | null> {
  let at = 0;
  for (const end of inputEnds) {
    if (!sink.open) return;
    yield Buffer.from(input.buffer, input.byteOffset + at, end - at);
    at = end;
  }
  if (sink.open) yield null;
}

/**
 * Collects a coder's output into the result buffer, refusing bytes past the cap, and records how
 * the stream ended. A pool call ends with lzma-native's processed-chunks callback, which follows
 * the output, the end and any error of that call (every call consumes its one input buffer).
 */
class CappedSink {
  private readonly output: Buffer;
  private producedBytes = 0;
  private ended = false;
  private consumedBytes = 0;
  private failure: Error | undefined;
  private callDone: (() => void) | undefined;

  constructor(
    private readonly what: string,
    private readonly coder: NativeCoder,
    private readonly expectedSizeBytes: number,
    into: Buffer | undefined,
  ) {
    this.output = decodeOutput(expectedSizeBytes, into);
    // The coder's own output buffer size (64 KiB): it allocates one per code() call, i.e. per slice.
    coder.bufferHandler = (buf, processedChunks, err, totalIn) => {
      if (buf === undefined && err === undefined && processedChunks !== undefined) {
        const done = this.callDone;
        this.callDone = undefined;
        done?.();
        return;
      }
      if (this.failure || this.ended) return;
      if (err) this.failure = blobDecodeError(what, `corrupt stream: ${describeCause(err)}`, err);
      else if (buf === null) {
        this.ended = true;
        this.consumedBytes = totalIn ?? -1;
      } else if (buf) {
        if (this.producedBytes + buf.length > expectedSizeBytes)
          this.failure = blobDecodeError(what, `output exceeds the declared ${expectedSizeBytes} bytes`);
        else this.producedBytes += buf.copy(this.output, this.producedBytes);
      }
    };
  }

  /** Whether more input may be fed: no failure and no end yet. */
  get open(): boolean {
    return !this.failure && !this.ended;
  }

  /** Decodes `slice` (null: finish) on a pool thread; resolves once its output was taken. */
  codeOnPool(slice: Buffer | null): Promise<void> {
    return new Promise<void>((resolve) => {
      this.callDone = resolve;
      this.coder.code(slice, true);
    });
  }

  /** The output, once all `inputBytes` were fed; throws what went wrong. */
  result(inputBytes: number): Buffer {
    if (this.failure) throw this.failure;
    if (!this.ended) throw blobDecodeError(this.what, 'corrupt stream: the stream does not end');
    if (this.consumedBytes !== inputBytes)
      throw blobDecodeError(this.what, `the stream ends after ${this.consumedBytes} of its ${inputBytes} bytes`);
    if (this.producedBytes !== this.expectedSizeBytes)
      throw blobDecodeError(this.what, `output is ${this.producedBytes} bytes, declared ${this.expectedSizeBytes}`);
    return this.output;
  }
}
