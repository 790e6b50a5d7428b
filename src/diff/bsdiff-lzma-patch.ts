// The bsdiff-lzma patch layout: bsdiff's control/diff/extra blocks, with the diff block in its
// sparse form (sparse-diff.ts) and each block a raw LZMA2 stream or stored. Owns the header,
// its checks, the memory bound and the decoding with caps; the control walk is bsdiff-patch.ts's.
// Pure apart from liblzma (through codecs/raw-lzma2.ts).
//
//   offset 0  8  "BSDIFFLZ"
//          8  …  new size                                   (varint: unsigned LEB128, ≤ 7 bytes)
//             …  for each of control, sparse diff, extra:
//                  1 byte  LZMA2 dictionary log 12..28, or 0 for a stored block
//                  varint  decoded length
//                  varint  encoded length (a stored block's equals its decoded length)
//             …  the three encoded blocks back to back; the patch ends with the extra block

import { blobDecodeError } from '../codecs/codec-errors.js';
import {
  decodeRawLzma2,
  LZMA2_DECODER_STATE_BYTES,
  LZMA2_MIN_DICT_LOG,
  lzma2DictLogFor,
  rawLzma2DecoderBytes,
} from '../codecs/raw-lzma2.js';
import { hexBytes } from '../errors/ota-error.js';
import { applyBsdiffStreams, controlTotals, CTRL_TUPLE_BYTES } from './bsdiff-patch.js';
import { lend, type PatchBuffers } from './patcher.js';
import { checkSparseDiff, maxSparseBytes } from './sparse-diff.js';
import { readVarint, varintBytes, writeVarint } from './varint.js';

const WHAT = 'bsdiff-lzma';
/** The 8 magic bytes. */
export const BSDIFF_LZMA_MAGIC = 'BSDIFFLZ';
/** dictLog value of a block kept as is. */
export const STORED_BLOCK = 0;
const BLOCK_NAMES = ['control', 'sparse diff', 'extra'] as const;
/** The lent buffer (PatchBuffers) each block decodes into. */
const BLOCK_USES = ['control', 'diff', 'extra'] as const;

/** One block of a patch: how it is encoded, its decoded length and its bytes. */
export interface BsdiffLzmaBlock {
  /** LZMA2 dictionary log, or STORED_BLOCK. */
  readonly dictLog: number;
  readonly decodedBytes: number;
  readonly bytes: Uint8Array;
}

/**
 * Most decoded bytes the three blocks of a patch making `newSizeBytes` may hold together: three
 * times the output plus one control tuple (a patch that is all extra block always fits).
 */
export function maxDecodedBlockBytes(newSizeBytes: number): number {
  return 3 * newSizeBytes + CTRL_TUPLE_BYTES;
}

/** Largest dictionary log a block of `decodedBytes` may use in a patch making `newSizeBytes`. */
export function maxBlockDictLog(decodedBytes: number, newSizeBytes: number): number {
  return lzma2DictLogFor(Math.min(decodedBytes, newSizeBytes));
}

/**
 * Peak memory of applying a patch (this applier's, and a streaming one's upper bound): source,
 * output, the expanded diff block, the decoded blocks and one LZMA2 dictionary (this applier
 * decodes two blocks at once only where both dictionaries fit: concurrentDecodeFits).
 */
export function bsdiffLzmaApplyBytes(sourceBytes: number, newSizeBytes: number): number {
  return sourceBytes + 2 * newSizeBytes + maxDecodedBlockBytes(newSizeBytes) + rawLzma2DecoderBytes(newSizeBytes);
}

/**
 * A source the patch makes while its blocks decode (exec-aware's adjusted copy, deflate-aware's
 * expanded one): `sizeBytes` long, made by `make()` on the calling thread.
 */
export interface DeferredSource {
  readonly sizeBytes: number;
  make(): Uint8Array;
}

/**
 * Whether the blocks may decode at the same time: the source, the output and expanded diff
 * (2 x the output), the decoded blocks and a decoder (dictionary and state) for each LZMA2 block
 * decoding at once fit both bsdiffLzmaApplyBytes (which counts one decoder) and the op's
 * declared `memoryBytes`. A control block decoded before (`controlDecoded`) counts with its
 * decoded bytes only.
 */
function concurrentDecodeFits(
  headers: readonly { readonly dictLog: number; readonly decodedBytes: number }[],
  sourceBytes: number,
  newSizeBytes: number,
  memoryBytes: number,
  controlDecoded: boolean,
): boolean {
  const lzma = headers.filter((h, i) => h.dictLog !== STORED_BLOCK && !(i === 0 && controlDecoded));
  if (lzma.length < 2) return false;
  const decodedBytes = headers.reduce((n, h) => n + h.decodedBytes, 0);
  const decoderBytes = lzma.reduce((n, h) => n + 2 ** h.dictLog + LZMA2_DECODER_STATE_BYTES, 0);
  const peakBytes = sourceBytes + 2 * newSizeBytes + decodedBytes + decoderBytes;
  return peakBytes <= Math.min(memoryBytes, bsdiffLzmaApplyBytes(sourceBytes, newSizeBytes));
}

/** Writes a patch from its three blocks (control, sparse diff, extra). */
export function writeBsdiffLzma(
  blocks: readonly [BsdiffLzmaBlock, BsdiffLzmaBlock, BsdiffLzmaBlock],
  newSizeBytes: number,
): Buffer {
  const headerBytes =
    8 +
    varintBytes(newSizeBytes) +
    blocks.reduce((n, b) => n + 1 + varintBytes(b.decodedBytes) + varintBytes(b.bytes.length), 0);
  const header = Buffer.alloc(headerBytes);
  header.write(BSDIFF_LZMA_MAGIC, 0, 'latin1');
  let at = writeVarint(header, 8, newSizeBytes);
  for (const block of blocks) {
    header[at++] = block.dictLog;
    at = writeVarint(header, at, block.decodedBytes);
    at = writeVarint(header, at, block.bytes.length);
  }
  return Buffer.concat([header, ...blocks.map((b) => b.bytes)]);
}

/**
 * Applies a bsdiff-lzma patch to `source` (or to what a DeferredSource makes while the blocks
 * decode) and returns exactly `expectedSizeBytes` bytes. The
 * whole header is checked before any decoding: magic, new size as expected, decoded lengths
 * within their caps (sparse diff 2 per output byte, extra the output, all three together
 * maxDecodedBlockBytes), dictionaries no larger than their blocks (maxBlockDictLog), stored
 * blocks the size they say, block lengths adding up to the patch. After decoding, the control
 * tuples must be whole and use exactly the diff and extra blocks. Throws PackageFormatError
 * (`BLOB_DECODE_FAILED`). Memory: bsdiffLzmaApplyBytes. The decoded blocks and the result are put
 * in `buffers` when given.
 */
export async function applyBsdiffLzmaPatch(
  source: Uint8Array | DeferredSource,
  patch: Uint8Array,
  expectedSizeBytes: number,
  memoryBytes = Infinity,
  buffers?: PatchBuffers,
  /** The control block, when the caller decoded it already (exec-aware reads it first); its length is checked. */
  decodedControl?: Uint8Array,
): Promise<Buffer> {
  if (patch.length < 8 || Buffer.from(patch.buffer, patch.byteOffset, 8).toString('latin1') !== BSDIFF_LZMA_MAGIC) {
    throw fail(`bad magic at offset 0: expected "${BSDIFF_LZMA_MAGIC}", got ${hexBytes(patch.subarray(0, 8))}`);
  }
  let at = 8;
  const varint = (field: string): number => {
    const read = readVarint(patch, at);
    if (typeof read === 'string') throw fail(`${field} at offset ${at} is ${read}`);
    at = read.end;
    return read.value;
  };
  const newSizeBytes = varint('new size');
  if (newSizeBytes !== expectedSizeBytes)
    throw fail(`patch makes ${newSizeBytes} bytes, expected ${expectedSizeBytes}`);
  // Each block is also bounded by the op's declared decoder memory (it is held decoded).
  const caps = [maxDecodedBlockBytes(expectedSizeBytes), maxSparseBytes(expectedSizeBytes), expectedSizeBytes].map(
    (cap) => Math.min(cap, Math.max(0, Math.floor(memoryBytes))),
  );
  const headers = BLOCK_NAMES.map((name, i) => {
    if (at >= patch.length) throw fail(`header ends before the ${name} block's dictionary log`);
    const dictLog = patch[at++] as number;
    const decodedBytes = varint(`${name} decoded length`);
    const encodedBytes = varint(`${name} encoded length`);
    if (decodedBytes > caps[i]!)
      throw fail(
        `${name} block declares ${decodedBytes} decoded bytes, more than the ${caps[i]} a ${expectedSizeBytes}-byte output and the op's declared decoder memory allow`,
      );
    if (dictLog === STORED_BLOCK) {
      if (encodedBytes !== decodedBytes)
        throw fail(`stored ${name} block is ${encodedBytes} bytes but declares ${decodedBytes}`);
    } else if (dictLog < LZMA2_MIN_DICT_LOG || dictLog > maxBlockDictLog(decodedBytes, expectedSizeBytes)) {
      throw fail(
        `${name} block's LZMA2 dictionary log ${dictLog} is outside ${LZMA2_MIN_DICT_LOG}..${maxBlockDictLog(decodedBytes, expectedSizeBytes)}`,
      );
    }
    return { name, dictLog, decodedBytes, encodedBytes };
  });
  const decodedTotal = headers.reduce((n, h) => n + h.decodedBytes, 0);
  if (decodedTotal > maxDecodedBlockBytes(expectedSizeBytes))
    throw fail(
      `blocks declare ${decodedTotal} decoded bytes, more than the ${maxDecodedBlockBytes(expectedSizeBytes)} a ${expectedSizeBytes}-byte output allows`,
    );
  const bodyBytes = headers.reduce((n, h) => n + h.encodedBytes, 0);
  if (at + bodyBytes !== patch.length)
    throw fail(`blocks declare ${bodyBytes} bytes, the patch has ${patch.length - at} after its ${at}-byte header`);
  // The LZMA2 blocks start decoding on the libuv pool before this thread makes a deferred source
  // (a block's first slice decodes meanwhile; this thread feeds the next ones): all together
  // where their decoders fit (concurrentDecodeFits), else one after the other. Their buffers are
  // lent first, so nothing that throws runs once a decode has started.
  const sourceBytes = source instanceof Uint8Array ? source.length : source.sizeBytes;
  const together = concurrentDecodeFits(
    headers,
    sourceBytes,
    expectedSizeBytes,
    memoryBytes,
    decodedControl !== undefined,
  );
  const blocks = headers.map((h, i) => {
    const bytes = patch.subarray(at, at + h.encodedBytes);
    at += h.encodedBytes;
    if (i === 0 && decodedControl) {
      if (decodedControl.length !== h.decodedBytes)
        throw fail(`control block declares ${h.decodedBytes} bytes, ${decodedControl.length} were decoded`);
      return { known: Buffer.from(decodedControl.buffer, decodedControl.byteOffset, decodedControl.length) };
    }
    if (h.dictLog === STORED_BLOCK) return { known: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) };
    return { h, bytes, into: lend(buffers, h.decodedBytes, BLOCK_USES[i]!) };
  });
  const pending: Promise<Buffer>[] = [];
  let previous: Promise<Buffer> | undefined;
  for (const block of blocks) {
    if (block.known) {
      pending.push(Promise.resolve(block.known));
      continue;
    }
    const { h, bytes, into } = block;
    const decode = () => decodeRawLzma2(`${WHAT} ${h.name} block`, bytes, h.dictLog, h.decodedBytes, into);
    // One after the other, a block after a failed one is not decoded (it fails with the same error).
    const decoded = together || !previous ? decode() : previous.then(decode);
    previous = decoded;
    pending.push(decoded);
  }
  const settled = Promise.allSettled(pending);
  let made: Uint8Array;
  try {
    made = source instanceof Uint8Array ? source : source.make();
  } finally {
    // Nothing returns or throws while a decode still writes into a lent buffer.
    await settled;
  }
  if (made.length !== sourceBytes) throw new Error(`deferred source made ${made.length} bytes, not ${sourceBytes}`);
  // The first block that failed, in block order (the same error whatever finished first).
  const decoded: Buffer[] = [];
  for (const result of await settled) {
    if (result.status === 'rejected') throw result.reason;
    decoded.push(result.value);
  }
  const [ctrl, sparse, extra] = decoded as [Buffer, Buffer, Buffer];
  const totals = controlTotals(ctrl, expectedSizeBytes, WHAT);
  if (totals.addBytes + totals.copyBytes !== expectedSizeBytes || totals.copyBytes !== extra.length) {
    throw fail(
      `control tuples make ${totals.addBytes} + ${totals.copyBytes} bytes from a ${extra.length}-byte extra block; expected ${expectedSizeBytes} bytes using all of it`,
    );
  }
  // Checked whole, then added onto the old bytes as the control walk goes (never expanded).
  const diff = checkSparseDiff(WHAT, sparse, totals.addBytes);
  // One tuple that copies the whole extra block (a patch made without a source): the output is
  // the extra block itself, not a second copy of it; but not when the block is lent (the caller
  // reuses it for the next op while this one's result is still being written).
  if (!buffers && ctrl.length === CTRL_TUPLE_BYTES && totals.addBytes === 0 && ctrl.readBigInt64LE(16) === 0n)
    return extra;
  return applyBsdiffStreams(made, { ctrl, diff, extra }, expectedSizeBytes, buffers);
}

function fail(detail: string): Error {
  return blobDecodeError(WHAT, detail);
}
