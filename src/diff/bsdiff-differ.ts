// The bsdiff differ: BSDIFF40 patches (bzip2 inside) that apply with Debian's `bspatch`.
// Diffing runs bsdiff-node's native suffix sort on files in a private temp dir; patching is
// done in memory by bsdiff-patch.ts, never by bsdiff-node (see applyBsdiffPatch for why).

import bsdiffNode from 'bsdiff-node';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertExpectedSize, describeCause } from '../codecs/codec-errors.js';
import { ioError } from '../errors/ota-error.js';
import { applyBsdiffPatch } from './bsdiff-patch.js';
import { DifferWireId, type Differ } from './differ.js';

/**
 * Memory of one bzip2 decompressor for a `-9` stream in libbzip2's default (fast) mode:
 * 4 bytes per byte of the 900 kB block plus ~64 kB of tables. A streaming bspatch runs three
 * (control, diff, extra) at once.
 */
const BZIP2_DECODER_BYTES = 4 * 900_000 + 64 * 1024;

// The last patch made, by input identity: bsdf2 re-encodes the BSDIFF40 patch of the same
// chunk, and an encoder that tries both (one chunk at a time per thread) then sorts only once.
// The caller must not modify the inputs afterwards; the encoders never do.
let last: { source: Uint8Array; target: Uint8Array; patch: Promise<Buffer> } | undefined;

/**
 * The BSDIFF40 patch from `source` to `target` (bsdiff-node in the libuv pool, on files in a
 * private temp dir removed whatever happens). Asking again with the same two arrays returns the
 * same result without diffing again. Deterministic. Memory: about 17 x source (suffix array) +
 * 3 x target, in native code. Native failures are plain Errors (an internal fault, not bad
 * input); file-system failures are IoError.
 */
export function makeBsdiff40(source: Uint8Array, target: Uint8Array): Promise<Buffer> {
  if (last && last.source === source && last.target === target) return last.patch.then((p) => Buffer.from(p));
  const patch = runBsdiff(source, target);
  last = { source, target, patch };
  patch.catch(() => {
    if (last?.patch === patch) last = undefined;
  });
  return patch.then((p) => Buffer.from(p));
}

async function runBsdiff(source: Uint8Array, target: Uint8Array): Promise<Buffer> {
  let dir: string;
  try {
    dir = await mkdtemp(join(tmpdir(), 'ota-bsdiff-'));
  } catch (error) {
    throw ioError('create temp dir in', tmpdir(), error);
  }
  try {
    const oldFile = join(dir, 'old');
    const newFile = join(dir, 'new');
    const patchFile = join(dir, 'patch');
    try {
      await writeFile(oldFile, source);
      await writeFile(newFile, target);
    } catch (error) {
      throw ioError('write diff inputs to', dir, error);
    }
    try {
      await bsdiffNode.diff(oldFile, newFile, patchFile);
    } catch (error) {
      throw new Error(`bsdiff failed: ${describeCause(error)}`, { cause: error });
    }
    try {
      return await readFile(patchFile);
    } catch (error) {
      throw ioError('read', patchFile, error);
    }
  } finally {
    // Best effort: a failed cleanup must not hide the result or the original error.
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** bsdiff (wire id 1): Colin Percival's BSDIFF40 format, as made by `bsdiff` 4.3. */
export class BsdiffDiffer implements Differ {
  readonly name = 'bsdiff' as const;
  readonly wireId = DifferWireId.bsdiff;

  /** The BSDIFF40 patch (see makeBsdiff40). */
  async diff(source: Uint8Array, target: Uint8Array): Promise<Buffer> {
    return makeBsdiff40(source, target);
  }

  /**
   * Applies a BSDIFF40 patch in memory. The header must declare exactly `expectedSizeBytes`
   * and blocks inside the patch; every control tuple is bounds-checked before it is used.
   * Throws PackageFormatError (`BLOB_DECODE_FAILED`) on any corrupt, truncated or hostile patch.
   */
  async patch(source: Uint8Array, patch: Uint8Array, expectedSizeBytes: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    return applyBsdiffPatch(source, patch, expectedSizeBytes);
  }

  /**
   * A streaming bspatch on the device holds the old and new images and three bzip2
   * decompressors (`-9`: ~3.7 MB each), so source + target + ~11 MB. (Our in-memory patcher
   * also holds the decoded diff and extra blocks, up to 2 x target more.)
   */
  decoderMemoryBytes(sourceBytes: number, targetBytes: number): number {
    return sourceBytes + targetBytes + 3 * BZIP2_DECODER_BYTES;
  }
}
