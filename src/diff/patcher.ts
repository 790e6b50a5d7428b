// Patcher: the device-side half of a binary-diff plugin. Patchers register by wire id in
// patcher-registry.ts; the applier, verifier and the build's self-check only see this interface
// (and the buffers an applier may lend a patcher: PatchBuffers). Nothing here or in any patcher
// imports a differ.

import type { DifferName } from '../model/wire-ids.js';
import type { ProvenRemakes } from './proven-deflates.js';

/** Applies patches of one patch format. */
export interface Patcher {
  readonly name: DifferName;
  readonly wireId: number;
  /**
   * Applies `patch` to `source`; the result must be exactly `expectedSizeBytes` long and is
   * never allowed to grow past it. `memoryBytes` is the op's declared decoder memory: no decoded
   * patch block may be larger (absent: only the format's own caps apply). Throws
   * PackageFormatError (`BLOB_DECODE_FAILED`) otherwise.
   */
  patch(
    source: Uint8Array,
    patch: Uint8Array,
    expectedSizeBytes: number,
    memoryBytes?: number,
    buffers?: PatchBuffers,
    options?: PatchOptions,
  ): Promise<Buffer>;
}

/** What only the build's self-check gives a patcher. */
export interface PatchOptions {
  /**
   * Re-deflations the differ proved for this very chunk (proven-deflates.ts): a patcher that
   * re-deflates may take their bytes for its large streams (it still re-makes the small ones, so
   * the self-check keeps running the re-deflate code). Never given by an apply.
   */
  readonly proven?: ProvenRemakes;
}

/** What a lent buffer holds: the result, a working copy, an inner patch's result, or one decoded block of a patch. */
export type PatchBufferUse = 'output' | 'work' | 'expanded' | 'control' | 'diff' | 'extra';

/**
 * Buffers an applier lends a patcher instead of fresh allocations (a fresh multi-MiB buffer
 * page-faults on every 4 KiB, and the collector unmaps it again): `sizeBytes` bytes (any
 * contents) for one use, a different buffer for each, reused by the caller once it is done with
 * the result. `output` (the default) holds the result; the others are dropped before the patcher
 * returns: `work`, a copy it rewrites (the exec-aware patcher's adjusted source, the deflate-aware
 * patcher's source with its old streams inflated), `expanded`, an inner patch's result (the
 * deflate-aware patcher's inflated target, before it re-deflates), and `control`, `diff`, `extra`,
 * its decoded blocks (bsdiff-lzma's). A patcher takes each use at most once per
 * patch and never returns a view of any but `output`. Patchers may ignore them.
 */
export type PatchBuffers = (sizeBytes: number, use?: PatchBufferUse) => Buffer;

/**
 * The buffer `buffers` lends for `use` (undefined without `buffers`), checked to be exactly
 * `sizeBytes` long: every byte of it is then written before it is read.
 */
export function lend(buffers: PatchBuffers | undefined, sizeBytes: number, use: PatchBufferUse): Buffer | undefined {
  if (!buffers) return undefined;
  const lent = buffers(sizeBytes, use);
  if (lent.length !== sizeBytes) throw new RangeError(`lent ${use} buffer is ${lent.length} bytes, not ${sizeBytes}`);
  return lent;
}
