// The exec-aware patch layout (FORMAT.md §4, differ id 6): an arch byte, the runs choosing which
// regions of the inner patch's control tuples get their references adjusted (reference-adjust.ts),
// from format 1.5 a label table for references whose targets no region holds (label-map.ts), then
// a bsdiff-lzma patch from the adjusted source to the destination. Owns the header, its checks,
// the memory bound and the apply. Decode side: imports no differ.
//
//   "EXECDIFF"  u8 arch (1 aarch64, 2 x86-64; | 0x80: a label table follows the runs)
//   varint run count, the runs  [the label table]  then the bsdiff-lzma patch

import { blobDecodeError } from '../codecs/codec-errors.js';
import { decodeRawLzma2, LZMA2_MIN_DICT_LOG } from '../codecs/raw-lzma2.js';
import { hexBytes } from '../errors/ota-error.js';
import { controlTotals, CTRL_TUPLE_BYTES } from './bsdiff-patch.js';
import {
  applyBsdiffLzmaPatch,
  BSDIFF_LZMA_MAGIC,
  bsdiffLzmaApplyBytes,
  maxBlockDictLog,
  maxDecodedBlockBytes,
  STORED_BLOCK,
} from './bsdiff-lzma-patch.js';
import {
  adjustRegion,
  ReferenceArch,
  regionsFromControl,
  type AdjustRegions,
  type ReferenceArchName,
} from './reference-adjust.js';
import { readVarint, varintBytes, writeVarint } from './varint.js';
import { decodeLabelMap, encodeLabelMap, LABEL_INTERVAL_BYTES, NO_LABELS, type LabelMap } from './label-map.js';
import { lend, type PatchBuffers } from './patcher.js';

const WHAT = 'exec-aware';
/** The 8 magic bytes. */
export const EXEC_AWARE_MAGIC = 'EXECDIFF';
/** Bytes of the fixed header (magic and arch) before the runs. */
export const EXEC_AWARE_HEADER_BYTES = 9;
/** The arch byte's flag saying a label table follows the runs (format 1.5). */
export const EXEC_AWARE_LABELS_FLAG = 0x80;

/**
 * Peak memory of applying a patch: the adjusted copy of the source, the control block decoded
 * once more (at most maxDecodedBlockBytes, 24 bytes a tuple) and the regions worked out from it
 * (at most 52 bytes a tuple: 3 x that), plus the inner bsdiff-lzma apply's.
 */
export function execAwareApplyBytes(sourceBytes: number, newSizeBytes: number): number {
  return sourceBytes + 4 * maxDecodedBlockBytes(newSizeBytes) + bsdiffLzmaApplyBytes(sourceBytes, newSizeBytes);
}

/**
 * Writes a patch: the header for `arch`, the runs of `adjusted` (one flag per region), the label
 * table when `labels` has an interval, then `inner`.
 */
export function writeExecAwarePatch(
  arch: ReferenceArchName,
  adjusted: readonly boolean[],
  inner: Uint8Array,
  labels: LabelMap = NO_LABELS,
): Buffer {
  const runs: number[] = [];
  let value = false;
  let length = 0;
  for (const flag of adjusted) {
    if (flag !== value) {
      runs.push(length);
      value = flag;
      length = 0;
    }
    length++;
  }
  if (value) runs.push(length); // a trailing run of kept regions is implied
  const header = Buffer.alloc(
    EXEC_AWARE_HEADER_BYTES + varintBytes(runs.length) + runs.reduce((n, r) => n + varintBytes(r), 0),
  );
  const withLabels = labels.start.length > 0;
  header.write(EXEC_AWARE_MAGIC, 0, 'latin1');
  header[8] = ReferenceArch[arch] | (withLabels ? EXEC_AWARE_LABELS_FLAG : 0);
  let at = writeVarint(header, EXEC_AWARE_HEADER_BYTES, runs.length);
  for (const run of runs) at = writeVarint(header, at, run);
  return Buffer.concat(withLabels ? [header, encodeLabelMap(labels), inner] : [header, inner]);
}

/** The arch a patch's header names. Throws PackageFormatError (`BLOB_DECODE_FAILED`) on a bad header. */
export function readExecAwareArch(patch: Uint8Array): ReferenceArchName {
  if (
    patch.length < EXEC_AWARE_HEADER_BYTES ||
    Buffer.from(patch.buffer, patch.byteOffset, 8).toString('latin1') !== EXEC_AWARE_MAGIC
  ) {
    throw fail(`bad magic at offset 0: expected "${EXEC_AWARE_MAGIC}", got ${hexBytes(patch.subarray(0, 8))}`);
  }
  const id = (patch[8] as number) & ~EXEC_AWARE_LABELS_FLAG;
  const arch = (Object.keys(ReferenceArch) as ReferenceArchName[]).find((name) => ReferenceArch[name] === id);
  if (arch === undefined)
    throw fail(`arch byte at offset 8 is ${patch[8]}, expected 1 (aarch64) or 2 (x86-64), with or without 0x80`);
  return arch;
}

/** A patch's parts: the arch, the run lengths, the label table and the offset of the inner patch. */
export interface ExecAwareHeader {
  readonly arch: ReferenceArchName;
  readonly runs: readonly number[];
  /** NO_LABELS when the arch byte has no label flag. */
  readonly labels: LabelMap;
  readonly innerOffset: number;
}

/** True when the patch's arch byte says a label table follows the runs (format 1.5). */
export function hasLabelTable(patch: Uint8Array): boolean {
  return patch.length > 8 && ((patch[8] as number) & EXEC_AWARE_LABELS_FLAG) !== 0;
}

/**
 * Reads the header, the runs and the label table; `maxRuns` bounds the run count (a region
 * count + 1) and `maxIntervals` the table's interval count.
 */
export function readExecAwareHeader(patch: Uint8Array, maxRuns: number, maxIntervals: number): ExecAwareHeader {
  const arch = readExecAwareArch(patch);
  let at = EXEC_AWARE_HEADER_BYTES;
  const varint = (field: string): number => {
    const read = readVarint(patch, at);
    if (typeof read === 'string') throw fail(`${field} at offset ${at} is ${read}`);
    at = read.end;
    return read.value;
  };
  const count = varint('run count');
  if (count > maxRuns) throw fail(`run count ${count} is more than the ${maxRuns} the output size allows`);
  const runs: number[] = [];
  for (let k = 0; k < count; k++) runs.push(varint(`run ${k}`));
  if (!hasLabelTable(patch)) return { arch, runs, labels: NO_LABELS, innerOffset: at };
  const table = decodeLabelMap(patch, at, maxIntervals, fail);
  return { arch, runs, labels: table.map, innerOffset: table.end };
}

/** Most label intervals a patch making `newSizeBytes` may carry (as many as control tuples). */
export function maxLabelIntervals(newSizeBytes: number): number {
  return Math.floor(maxDecodedBlockBytes(newSizeBytes) / CTRL_TUPLE_BYTES);
}

/**
 * Decoder memory of a patch: execAwareApplyBytes, plus LABEL_INTERVAL_BYTES per label interval
 * when it carries a table (the count read from the header, within maxLabelIntervals).
 */
export function execAwarePatchBytes(patch: Uint8Array, sourceBytes: number, newSizeBytes: number): number {
  const base = execAwareApplyBytes(sourceBytes, newSizeBytes);
  if (!hasLabelTable(patch)) return base;
  const maxRegions = maxLabelIntervals(newSizeBytes);
  const header = readExecAwareHeader(patch, maxRegions + 1, maxLabelIntervals(newSizeBytes));
  return base + LABEL_INTERVAL_BYTES * header.labels.start.length;
}

/**
 * The control block of an inner bsdiff-lzma patch, decoded with bsdiff-lzma's caps (magic, new
 * size, the block within its caps, the op's memory and the patch) and checked as whole tuples.
 */
async function innerControl(
  inner: Uint8Array,
  expectedSizeBytes: number,
  memoryBytes: number,
  buffers?: PatchBuffers,
): Promise<Uint8Array> {
  if (inner.length < 8 || Buffer.from(inner.buffer, inner.byteOffset, 8).toString('latin1') !== BSDIFF_LZMA_MAGIC)
    throw fail(`inner patch's magic is ${hexBytes(inner.subarray(0, 8))}, expected "${BSDIFF_LZMA_MAGIC}"`);
  let at = 8;
  const varint = (field: string): number => {
    const read = readVarint(inner, at);
    if (typeof read === 'string') throw fail(`inner ${field} at offset ${at} is ${read}`);
    at = read.end;
    return read.value;
  };
  if (varint('new size') !== expectedSizeBytes) throw fail(`inner patch does not make ${expectedSizeBytes} bytes`);
  const blocks = [0, 1, 2].map(() => {
    const dictLog = inner[at++] ?? -1;
    return { dictLog, decodedBytes: varint('block decoded length'), encodedBytes: varint('block encoded length') };
  });
  const ctrl = blocks[0]!;
  const cap = Math.min(maxDecodedBlockBytes(expectedSizeBytes), Math.max(0, Math.floor(memoryBytes)));
  if (ctrl.decodedBytes > cap) throw fail(`inner control block declares ${ctrl.decodedBytes} bytes, over ${cap}`);
  if (at + ctrl.encodedBytes > inner.length) throw fail('inner control block runs past the patch');
  const bytes = inner.subarray(at, at + ctrl.encodedBytes);
  let decoded: Uint8Array;
  if (ctrl.dictLog === STORED_BLOCK) {
    if (ctrl.encodedBytes !== ctrl.decodedBytes) throw fail('stored inner control block is not its declared size');
    decoded = bytes;
  } else if (
    ctrl.dictLog < LZMA2_MIN_DICT_LOG ||
    ctrl.dictLog > maxBlockDictLog(ctrl.decodedBytes, expectedSizeBytes)
  ) {
    throw fail(`inner control block's LZMA2 dictionary log ${ctrl.dictLog} is out of range`);
  } else
    decoded = await decodeRawLzma2(
      `${WHAT} control block`,
      bytes,
      ctrl.dictLog,
      ctrl.decodedBytes,
      lend(buffers, ctrl.decodedBytes, 'control'),
    );
  controlTotals(decoded, expectedSizeBytes, WHAT);
  return decoded;
}

/**
 * The adjusted copy of `source` (in `into`, of the source's length, when given): regions picked
 * by the runs (alternately kept and adjusted, kept first).
 */
export function adjustSource(
  source: Uint8Array,
  regions: AdjustRegions,
  arch: ReferenceArchName,
  runs: readonly number[],
  labels: LabelMap = NO_LABELS,
  into?: Buffer,
): Buffer {
  // A memcpy (Buffer.from(Uint8Array) copies element by element: 10 ms per 4 MiB source).
  const out = into ?? Buffer.allocUnsafe(source.length);
  out.set(source);
  let index = 0;
  for (let k = 0; k < runs.length; k++) {
    const end = index + (runs[k] as number);
    if (end > regions.oldStart.length)
      throw fail(`runs cover ${end} regions, the control block has ${regions.oldStart.length}`);
    if (k % 2 === 1) for (let r = index; r < end; r++) adjustRegion(source, out, regions, r, arch, labels);
    index = end;
  }
  return out;
}

/**
 * Applies a patch: checks the header and that the op's declared `memoryBytes` covers
 * execAwareApplyBytes before allocating, decodes the inner control block, adjusts a copy of the
 * source in the regions the runs pick, and applies the inner bsdiff-lzma patch to it (all its
 * checks and caps) into exactly `expectedSizeBytes` (the adjusted source, the decoded blocks and
 * the result in `buffers` when given). Throws PackageFormatError (`BLOB_DECODE_FAILED`).
 */
export async function applyExecAwarePatch(
  source: Uint8Array,
  patch: Uint8Array,
  expectedSizeBytes: number,
  memoryBytes = Infinity,
  buffers?: PatchBuffers,
): Promise<Buffer> {
  readExecAwareArch(patch);
  const baseBytes = execAwareApplyBytes(source.length, expectedSizeBytes);
  if (baseBytes > memoryBytes)
    throw fail(`patch needs ${baseBytes} bytes of decoder memory, the op declares ${memoryBytes}`);
  const maxRegions = maxLabelIntervals(expectedSizeBytes);
  // The label table's count is checked against the op's memory before its arrays are allocated.
  const maxIntervals = Math.min(
    maxRegions,
    Math.floor(Math.max(0, Math.min(memoryBytes, Number.MAX_SAFE_INTEGER) - baseBytes) / LABEL_INTERVAL_BYTES),
  );
  const header = readExecAwareHeader(patch, maxRegions + 1, maxIntervals);
  const inner = patch.subarray(header.innerOffset);
  const control = await innerControl(inner, expectedSizeBytes, memoryBytes, buffers);
  const regions = regionsFromControl(control, source.length);
  if (header.runs.length > regions.oldStart.length + 1)
    throw fail(`${header.runs.length} runs for ${regions.oldStart.length} regions`);
  // Adjusted while the inner patch's blocks decode.
  const adjusted = {
    sizeBytes: source.length,
    make: () =>
      adjustSource(source, regions, header.arch, header.runs, header.labels, lend(buffers, source.length, 'work')),
  };
  return applyBsdiffLzmaPatch(adjusted, inner, expectedSizeBytes, memoryBytes, buffers, control);
}

function fail(detail: string): Error {
  return blobDecodeError(WHAT, detail);
}
