// The exec-aware patch layout (FORMAT.md §4, differ id 6): an arch byte naming the branch
// transform (branch-transform.ts), then a bsdiff-lzma patch from the transformed source to the
// transformed target. Owns the header, its checks, the memory bound and the apply. Decode side:
// imports no differ.
//
//   "EXECDIFF"  u8 arch (1 aarch64, 2 x86-64)  then the bsdiff-lzma patch

import { blobDecodeError } from '../codecs/codec-errors.js';
import { hexBytes } from '../errors/ota-error.js';
import { BranchArch, transformBranches, type BranchArchName } from './branch-transform.js';
import { applyBsdiffLzmaPatch, bsdiffLzmaApplyBytes } from './bsdiff-lzma-patch.js';

const WHAT = 'exec-aware';
/** The 8 magic bytes. */
export const EXEC_AWARE_MAGIC = 'EXECDIFF';
/** Bytes before the inner bsdiff-lzma patch. */
export const EXEC_AWARE_HEADER_BYTES = 9;

/**
 * Peak memory of applying a patch: the transformed copy of the source, plus the inner
 * bsdiff-lzma apply's (whose output is inverse-transformed in place).
 */
export function execAwareApplyBytes(sourceBytes: number, newSizeBytes: number): number {
  return sourceBytes + bsdiffLzmaApplyBytes(sourceBytes, newSizeBytes);
}

/** Writes a patch: the header for `arch`, then `inner` (a bsdiff-lzma patch of the transformed data). */
export function writeExecAwarePatch(arch: BranchArchName, inner: Uint8Array): Buffer {
  const header = Buffer.alloc(EXEC_AWARE_HEADER_BYTES);
  header.write(EXEC_AWARE_MAGIC, 0, 'latin1');
  header[8] = BranchArch[arch];
  return Buffer.concat([header, inner]);
}

/** The arch a patch's header names. Throws PackageFormatError (`BLOB_DECODE_FAILED`) on a bad header. */
export function readExecAwareArch(patch: Uint8Array): BranchArchName {
  if (
    patch.length < EXEC_AWARE_HEADER_BYTES ||
    Buffer.from(patch.buffer, patch.byteOffset, 8).toString('latin1') !== EXEC_AWARE_MAGIC
  ) {
    throw blobDecodeError(
      WHAT,
      `bad magic at offset 0: expected "${EXEC_AWARE_MAGIC}", got ${hexBytes(patch.subarray(0, 8))}`,
    );
  }
  const id = patch[8] as number;
  const arch = (Object.keys(BranchArch) as BranchArchName[]).find((name) => BranchArch[name] === id);
  if (arch === undefined)
    throw blobDecodeError(WHAT, `arch byte at offset 8 is ${id}, expected 1 (aarch64) or 2 (x86-64)`);
  return arch;
}

/**
 * Applies a patch: checks the header and that the op's declared `memoryBytes` covers
 * execAwareApplyBytes before allocating, transforms a copy of the source, applies the inner
 * bsdiff-lzma patch (its own checks and caps) into exactly `expectedSizeBytes`, and
 * inverse-transforms the result. Throws PackageFormatError (`BLOB_DECODE_FAILED`) otherwise.
 */
export async function applyExecAwarePatch(
  source: Uint8Array,
  patch: Uint8Array,
  expectedSizeBytes: number,
  memoryBytes = Infinity,
): Promise<Buffer> {
  const arch = readExecAwareArch(patch);
  const needBytes = execAwareApplyBytes(source.length, expectedSizeBytes);
  if (needBytes > memoryBytes)
    throw blobDecodeError(WHAT, `patch needs ${needBytes} bytes of decoder memory, the op declares ${memoryBytes}`);
  const transformed = Buffer.from(source);
  transformBranches(transformed, arch, true);
  const inner = patch.subarray(EXEC_AWARE_HEADER_BYTES);
  const out = await applyBsdiffLzmaPatch(transformed, inner, expectedSizeBytes, memoryBytes);
  transformBranches(out, arch, false);
  return out;
}
