// Applies a BSDIFF40 patch (Colin Percival's format, as `bspatch` reads it) in memory with
// every length checked before use. Owns the header layout and the control-tuple walk; the
// bzip2 streams are decoded by bzip2-stream.ts. Pure: no files, no native code.
//
//   offset 0   8  "BSDIFF40"
//          8   8  X = compressed length of the control block   (lengths are 64-bit sign-magnitude
//         16   8  Y = compressed length of the diff block        little-endian: bit 63 is the sign)
//         24   8  size of the new file
//         32   X  bzip2(control: triples (add x bytes of diff+old, copy y bytes of extra, seek old by z))
//       32+X   Y  bzip2(diff block)
//     32+X+Y   …  bzip2(extra block)

import { blobDecodeError } from '../codecs/codec-errors.js';
import { hexBytes } from '../errors/ota-error.js';
import { decodeBzip2 } from './bzip2-stream.js';
import { lend, type PatchBuffers } from './patcher.js';
import { SparseDiffAdder, type CheckedSparseDiff } from './sparse-diff.js';

const WHAT = 'bsdiff';
const MAGIC = 'BSDIFF40';
/** Size of the fixed header. */
export const BSDIFF_HEADER_BYTES = 32;
/** Bytes of one control tuple (three 8-byte integers). */
export const CTRL_TUPLE_BYTES = 24;
/**
 * Fewest output bytes per control tuple that bsdiff's scan can produce: it emits a tuple only
 * after a match that beats the current alignment by more than 8 bytes, then resumes the scan past
 * that match, so tuples start at least 9 output bytes apart (plus one final tuple). The matcher
 * of bsdiff-lzma follows the same rule (bsdiff-matcher.ts MIN_GAIN_BYTES).
 */
const MIN_OUTPUT_BYTES_PER_TUPLE = 8;
/** Offsets and lengths we accept are below 2^48 in magnitude (256 TiB), so they stay exact. */
const MAX_MAGNITUDE_BYTES = 6;

/** What a BSDIFF40 header declares. */
export interface BsdiffHeader {
  readonly ctrlSizeBytes: number;
  readonly diffSizeBytes: number;
  readonly newSizeBytes: number;
}

/**
 * Reads and checks the header: magic, non-negative lengths, both blocks inside the patch, and
 * a new size equal to `expectedSizeBytes`. Throws PackageFormatError (`BLOB_DECODE_FAILED`).
 */
export function parseBsdiffHeader(patch: Uint8Array, expectedSizeBytes: number): BsdiffHeader {
  if (patch.length < BSDIFF_HEADER_BYTES) throw fail(`patch is ${patch.length} bytes, shorter than the 32-byte header`);
  if (Buffer.from(patch.buffer, patch.byteOffset, 8).toString('latin1') !== MAGIC) {
    throw fail(`bad magic at offset 0: expected "${MAGIC}", got ${hexBytes(patch.subarray(0, 8))}`);
  }
  return readBsdiffLengths(patch, expectedSizeBytes, WHAT);
}

/**
 * The three lengths at offsets 8, 16 and 24 that BSDIFF40 and BSDF2 headers share, checked:
 * non-negative, both blocks inside the patch, new size equal to `expectedSizeBytes`.
 */
export function readBsdiffLengths(patch: Uint8Array, expectedSizeBytes: number, what: string): BsdiffHeader {
  const bad = (detail: string) => blobDecodeError(what, detail);
  const ctrlSizeBytes = readOfft(patch, 8, 'control length');
  const diffSizeBytes = readOfft(patch, 16, 'diff length');
  const newSizeBytes = readOfft(patch, 24, 'new size');
  if (ctrlSizeBytes < 0 || diffSizeBytes < 0 || newSizeBytes < 0) throw bad('negative length in the header');
  if (BSDIFF_HEADER_BYTES + ctrlSizeBytes + diffSizeBytes > patch.length) {
    throw bad(
      `header declares blocks of ${ctrlSizeBytes} + ${diffSizeBytes} bytes, patch has ${patch.length - BSDIFF_HEADER_BYTES} after the header`,
    );
  }
  if (newSizeBytes !== expectedSizeBytes) throw bad(`patch makes ${newSizeBytes} bytes, expected ${expectedSizeBytes}`);
  return { ctrlSizeBytes, diffSizeBytes, newSizeBytes };
}

/**
 * Applies `patch` to `source` and returns exactly `expectedSizeBytes` bytes. The header is
 * checked first; each block is decoded with a cap (control maxControlBytes, diff and extra at
 * most the output size, each also at most `memoryBytes`, the op's declared decoder memory);
 * every control tuple is checked to stay inside the output before any byte is written. Old
 * bytes outside `source` read as zero, as in bspatch. Memory: source + output + decoded blocks
 * (control ≤ 3 × output + 48, diff and extra ≤ output each, all ≤ memoryBytes) + 3.6 MB of bzip2 state.
 */
export function applyBsdiffPatch(
  source: Uint8Array,
  patch: Uint8Array,
  expectedSizeBytes: number,
  memoryBytes = Infinity,
): Buffer {
  const header = parseBsdiffHeader(patch, expectedSizeBytes);
  const diffStart = BSDIFF_HEADER_BYTES + header.ctrlSizeBytes;
  const extraStart = diffStart + header.diffSizeBytes;
  const [ctrlCap, blockCap] = blockCaps(expectedSizeBytes, memoryBytes);
  const ctrl = decodeBzip2(patch.subarray(BSDIFF_HEADER_BYTES, diffStart), ctrlCap).output;
  const diff = decodeBzip2(patch.subarray(diffStart, extraStart), blockCap).output;
  const extra = decodeBzip2(patch.subarray(extraStart), blockCap).output;
  return applyBsdiffStreams(source, { ctrl, diff, extra }, expectedSizeBytes);
}

/**
 * Largest decoded control block a patch making `outputBytes` may have: one tuple per
 * MIN_OUTPUT_BYTES_PER_TUPLE output bytes, plus one (3 bytes per output byte + 24).
 */
export function maxControlBytes(outputBytes: number): number {
  return CTRL_TUPLE_BYTES * (Math.ceil(outputBytes / MIN_OUTPUT_BYTES_PER_TUPLE) + 1);
}

/** Caps of the control block and of the diff and extra blocks, also bounded by the op's declared memory. */
export function blockCaps(outputBytes: number, memoryBytes: number): [number, number] {
  const memory = Math.max(0, Math.floor(memoryBytes));
  return [Math.min(maxControlBytes(outputBytes), memory), Math.min(outputBytes, memory)];
}

/** What a control block's tuples add up to. */
export interface ControlTotals {
  /** Bytes made from old + diff: the diff block's length. */
  readonly addBytes: number;
  /** Bytes copied from the extra block: its length. */
  readonly copyBytes: number;
}

/**
 * Sums a control block's add and copy lengths. Refuses (labelled `what`) a block that is not
 * whole tuples, a negative length, and sums past `outputBytes`.
 */
export function controlTotals(ctrl: Uint8Array, outputBytes: number, what: string): ControlTotals {
  if (ctrl.length % CTRL_TUPLE_BYTES !== 0)
    throw blobDecodeError(what, `control block is ${ctrl.length} bytes, not whole ${CTRL_TUPLE_BYTES}-byte tuples`);
  let addBytes = 0;
  let copyBytes = 0;
  for (let at = 0; at < ctrl.length; at += CTRL_TUPLE_BYTES) {
    const add = readOfft(ctrl, at, 'control add length');
    const copy = readOfft(ctrl, at + 8, 'control copy length');
    if (add < 0 || copy < 0) throw blobDecodeError(what, 'negative length in a control tuple');
    addBytes += add;
    copyBytes += copy;
    if (addBytes + copyBytes > outputBytes)
      throw blobDecodeError(
        what,
        `control tuples make ${addBytes + copyBytes} bytes, more than the ${outputBytes}-byte output`,
      );
  }
  return { addBytes, copyBytes };
}

/** The three decoded blocks of a bsdiff-style patch (BSDIFF40 or BSDF2). */
export interface BsdiffStreams {
  readonly ctrl: Buffer;
  readonly diff: Buffer;
  readonly extra: Buffer;
}

/** The same with the diff block in its checked sparse form (bsdiff-lzma), never expanded. */
export interface SparseBsdiffStreams {
  readonly ctrl: Buffer;
  readonly diff: CheckedSparseDiff;
  readonly extra: Buffer;
}

/**
 * Walks the control tuples over decoded blocks and returns exactly `expectedSizeBytes` bytes.
 * Every tuple is checked to stay inside the output and the blocks before any byte is written;
 * old bytes outside `source` read as zero, as in bspatch. Memory: the output (in `buffers` when given).
 */
export function applyBsdiffStreams(
  source: Uint8Array,
  streams: BsdiffStreams | SparseBsdiffStreams,
  expectedSizeBytes: number,
  buffers?: PatchBuffers,
): Buffer {
  const { ctrl, extra } = streams;
  const dense = Buffer.isBuffer(streams.diff) ? streams.diff : undefined;
  const sparse = dense ? undefined : new SparseDiffAdder(streams.diff as CheckedSparseDiff);
  const diffBytes = dense ? dense.length : (streams.diff as CheckedSparseDiff).denseBytes;
  // Every byte of `out` is written below (the walk ends exactly at expectedSizeBytes).
  const out = lend(buffers, expectedSizeBytes, 'output') ?? Buffer.allocUnsafeSlow(expectedSizeBytes);
  let newPos = 0;
  let oldPos = 0;
  let ctrlPos = 0;
  let diffPos = 0;
  let extraPos = 0;
  while (newPos < expectedSizeBytes) {
    if (ctrlPos + CTRL_TUPLE_BYTES > ctrl.length) throw fail('control block ends before the output is complete');
    const addBytes = readOfft(ctrl, ctrlPos, 'control add length');
    const copyBytes = readOfft(ctrl, ctrlPos + 8, 'control copy length');
    const seekBytes = readOfft(ctrl, ctrlPos + 16, 'control seek');
    ctrlPos += CTRL_TUPLE_BYTES;
    // The checks bspatch lacked (CVE-2014-9862): negative lengths and writes past the end.
    if (addBytes < 0 || copyBytes < 0) throw fail('negative length in a control tuple');
    if (newPos + addBytes > expectedSizeBytes || diffPos + addBytes > diffBytes)
      throw fail('control tuple adds past the end');
    if (sparse) {
      // Old bytes in bulk (outside the source: zeros), then the few non-zero diff bytes.
      copyOld(source, oldPos, out, newPos, addBytes);
      sparse.addRange(out, newPos, diffPos, addBytes);
    } else {
      for (let i = 0; i < addBytes; i++) {
        const oldIndex = oldPos + i;
        const oldByte = oldIndex >= 0 && oldIndex < source.length ? (source[oldIndex] as number) : 0;
        out[newPos + i] = ((dense![diffPos + i] as number) + oldByte) & 0xff;
      }
    }
    newPos += addBytes;
    oldPos += addBytes;
    diffPos += addBytes;
    if (newPos + copyBytes > expectedSizeBytes || extraPos + copyBytes > extra.length)
      throw fail('control tuple copies past the end');
    copyRun(extra, extraPos, out, newPos, copyBytes);
    newPos += copyBytes;
    extraPos += copyBytes;
    oldPos += seekBytes;
    if (Math.abs(oldPos) >= 2 ** (8 * MAX_MAGNITUDE_BYTES)) throw fail('control tuple seeks out of range');
  }
  return out;
}

/** Copies source[oldPos, oldPos + length) to out[newPos …], bytes outside the source as zeros. */
function copyOld(source: Uint8Array, oldPos: number, out: Buffer, newPos: number, length: number): void {
  if (oldPos >= 0 && oldPos + length <= source.length) {
    copyRun(source, oldPos, out, newPos, length); // the common case: inside the source
    return;
  }
  const lo = Math.min(Math.max(oldPos, 0), source.length);
  const hi = Math.min(Math.max(oldPos + length, 0), source.length);
  if (hi <= lo) {
    out.fill(0, newPos, newPos + length);
    return;
  }
  out.fill(0, newPos, newPos + (lo - oldPos));
  out.set(source.subarray(lo, hi), newPos + (lo - oldPos));
  out.fill(0, newPos + (hi - oldPos), newPos + length);
}

/** Runs shorter than this are copied byte by byte: cheaper than making a view for a native copy. */
const SHORT_RUN_BYTES = 64;

/**
 * Copies from[fromAt, fromAt + length) to to[toAt …] (ranges checked by the caller). A patch has
 * a control tuple every few hundred bytes, most with short runs: a short run is a plain loop.
 */
function copyRun(from: Uint8Array, fromAt: number, to: Uint8Array, toAt: number, length: number): void {
  if (length < SHORT_RUN_BYTES) {
    for (let i = 0; i < length; i++) to[toAt + i] = from[fromAt + i] as number;
  } else to.set(from.subarray(fromAt, fromAt + length), toAt);
}

/** Writes bsdiff's 64-bit sign-magnitude little-endian integer (|value| < 2^48). */
export function writeOfft(out: Uint8Array, offset: number, value: number): void {
  let v = Math.abs(value);
  for (let i = 0; i < 8; i++) {
    out[offset + i] = v % 256;
    v = Math.floor(v / 256);
  }
  if (value < 0) out[offset + 7] = (out[offset + 7] as number) | 0x80;
}

/** Reads bsdiff's 64-bit sign-magnitude integer, refusing magnitudes of 2^48 or more. */
export function readOfft(bytes: Uint8Array, offset: number, field: string): number {
  if ((bytes[offset + 6] ?? 0) !== 0 || ((bytes[offset + 7] ?? 0) & 0x7f) !== 0) throw fail(`${field} out of range`);
  let magnitude = 0;
  for (let i = MAX_MAGNITUDE_BYTES - 1; i >= 0; i--) magnitude = magnitude * 256 + (bytes[offset + i] ?? 0);
  return ((bytes[offset + 7] ?? 0) & 0x80) !== 0 ? -magnitude : magnitude;
}

function fail(detail: string): Error {
  return blobDecodeError(WHAT, detail);
}
