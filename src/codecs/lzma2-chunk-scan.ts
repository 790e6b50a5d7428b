// Reads the chunk headers of a raw LZMA2 stream without decoding it: each chunk declares its
// decoded size (at most 2 MiB) and liblzma refuses a chunk that decodes to any other, so the
// headers bound what every part of the input can expand to. The async raw decoder cuts its input
// at chunk boundaries with this (lzma-capped-decode.ts), so a hostile stream is refused before
// anything is decoded and no input slice expands past what was checked. Pure.

import { blobDecodeError } from './codec-errors.js';

/** Where a raw LZMA2 stream may be cut: input offsets, each with the output decoded before it. */
export interface Lzma2Cuts {
  /** Input offsets ending each slice (ascending; the last is the stream's length). */
  readonly inputEnds: readonly number[];
  /** Decoded bytes at each input end (the last is the stream's declared total). */
  readonly outputEnds: readonly number[];
}

/** Control byte of the end marker, and the first control byte of an LZMA (not stored) chunk. */
const END_MARKER = 0x00;
const FIRST_LZMA_CONTROL = 0x80;
/** LZMA chunks with a control byte from here on carry one properties byte (new lc/lp/pb). */
const FIRST_PROPS_CONTROL = 0xc0;

/**
 * Cuts `data`, a raw LZMA2 stream that must decode to exactly `expectedSizeBytes`, into slices of
 * whole chunks: a slice ends after the first chunk that takes its decoded or its encoded bytes to
 * `sliceBytes` (a chunk decodes to at most 2 MiB from at most 64 KiB, so a slice is at most
 * `sliceBytes` + 2 MiB decoded and `sliceBytes` + 64 KiB encoded). Checks the framing only: every
 * control byte valid, every chunk whole, the end marker the last byte, the declared sizes adding
 * up to `expectedSizeBytes`. The chunks' contents (and whether the first one resets the
 * dictionary) are liblzma's to check. Throws PackageFormatError (`BLOB_DECODE_FAILED`, labelled
 * `what`).
 */
export function scanLzma2Chunks(
  what: string,
  data: Uint8Array,
  expectedSizeBytes: number,
  sliceBytes: number,
): Lzma2Cuts {
  const inputEnds: number[] = [];
  const outputEnds: number[] = [];
  let at = 0;
  let decodedBytes = 0;
  let sliceStartBytes = 0;
  let sliceInputStart = 0;
  const need = (bytes: number, field: string): void => {
    if (at + bytes > data.length)
      throw blobDecodeError(what, `corrupt stream: ${field} at offset ${at} runs past the ${data.length}-byte stream`);
  };
  for (;;) {
    need(1, 'chunk control byte');
    const control = data[at]!;
    if (control === END_MARKER) {
      at += 1;
      break;
    }
    let decoded: number;
    let stored: number;
    if (control >= FIRST_LZMA_CONTROL) {
      const headerBytes = control >= FIRST_PROPS_CONTROL ? 6 : 5;
      need(headerBytes, 'LZMA chunk header');
      decoded = ((control & 0x1f) << 16) + (data[at + 1]! << 8) + data[at + 2]! + 1;
      stored = (data[at + 3]! << 8) + data[at + 4]! + 1;
      at += headerBytes;
    } else if (control <= 0x02) {
      need(3, 'stored chunk header');
      decoded = stored = (data[at + 1]! << 8) + data[at + 2]! + 1;
      at += 3;
    } else {
      throw blobDecodeError(
        what,
        `corrupt stream: invalid LZMA2 control byte 0x${control.toString(16)} at offset ${at}`,
      );
    }
    need(stored, 'chunk data');
    at += stored;
    decodedBytes += decoded;
    if (decodedBytes > expectedSizeBytes)
      throw blobDecodeError(what, `output exceeds the declared ${expectedSizeBytes} bytes`);
    if (decodedBytes - sliceStartBytes >= sliceBytes || at - sliceInputStart >= sliceBytes) {
      inputEnds.push(at);
      outputEnds.push(decodedBytes);
      sliceStartBytes = decodedBytes;
      sliceInputStart = at;
    }
  }
  if (at !== data.length) throw blobDecodeError(what, `the stream ends after ${at} of its ${data.length} bytes`);
  if (decodedBytes !== expectedSizeBytes)
    throw blobDecodeError(what, `output is ${decodedBytes} bytes, declared ${expectedSizeBytes}`);
  // The end marker joins the last slice when one ends right before it.
  if (inputEnds.at(-1) === at - 1) inputEnds[inputEnds.length - 1] = at;
  else {
    inputEnds.push(at);
    outputEnds.push(decodedBytes);
  }
  return { inputEnds, outputEnds };
}
