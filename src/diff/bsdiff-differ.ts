// The bsdiff differ: BSDIFF40 patches (bzip2 inside) that apply with Debian's `bspatch`.
// Diffing runs bsdiff-node's native suffix sort on files in a private temp dir; patching is
// done by the patcher (bsdiff-patcher.ts) in memory, never by bsdiff-node (see applyBsdiffPatch).

import bsdiffNode from 'bsdiff-node';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { removeOnInterrupt } from '../image/interrupt-cleanup.js';
import { join } from 'node:path';
import { describeCause } from '../codecs/codec-errors.js';
import { nativeWork } from '../codecs/native-work.js';
import { ioError } from '../errors/ota-error.js';
import { BSDIFF_DIFFER } from './bsdiff-descriptor.js';
import type { Differ } from './differ.js';

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
  // On the main thread (--jobs 1) an interrupt removes it; a worker's is inside the pool's folder.
  const forget = removeOnInterrupt(dir);
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
      await nativeWork(bsdiffNode.diff(oldFile, newFile, patchFile));
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
    forget();
  }
}

/** bsdiff (wire id 1): Colin Percival's BSDIFF40 format, as made by `bsdiff` 4.3. */
export class BsdiffDiffer implements Differ {
  readonly name = BSDIFF_DIFFER.name;
  readonly wireId = BSDIFF_DIFFER.wireId;
  readonly decoderMemoryBytes = BSDIFF_DIFFER.decoderMemoryBytes;
  /** A suffix sort: slow, and slower still on long zero runs. */
  readonly traits = { tier: 'fallback', slowOnZeroRuns: true } as const;

  /** The BSDIFF40 patch (see makeBsdiff40). */
  async diff(source: Uint8Array, target: Uint8Array): Promise<Buffer> {
    return makeBsdiff40(source, target);
  }
}
