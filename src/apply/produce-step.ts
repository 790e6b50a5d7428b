// Makes the bytes one applier step writes: nothing for ZERO, the old image's blocks for COPY and
// KEEP (re-hashed when asked), a decoded blob for REPLACE, a patched source for DIFF; and the
// reused buffers the two in-flight steps are made in (OpScratches). Every cap is the decoder's or
// patcher's own; the op's declared decoder memory bounds what they decode.

import { createHash } from 'node:crypto';
import { decoderFor } from '../codecs/decoder-registry.js';
import { patcherFor } from '../diff/patcher-registry.js';
import type { PatchBuffers } from '../diff/patcher.js';
import { VerificationError } from '../errors/ota-error.js';
import type { BlockSource } from '../image/block-source.js';
import { grownSizeBytes, readExtentsAt, readExtentsInto, ScratchBuffer } from '../image/extent-io.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import { assertNever } from '../model/operation.js';
import type { PackageReader } from '../package/package-reader.js';
import type { ApplyStep } from './apply-steps.js';

/** The buffers one step is made in: its source (COPY, DIFF) and its patcher's (PatchBuffers). */
export interface StepBuffers {
  readonly source: ScratchBuffer;
  readonly patch: PatchBuffers;
}

/**
 * The reused buffers of an applier's two in-flight steps: each its own source and output
 * (alternating by step index), and one arena both share for every other buffer a patcher asks for
 * (its working copy, its decoded blocks), handed out front to back for one op at a time. Ops
 * decode one at a time (the next starts once the previous one's bytes are made), so the arena
 * only ever holds the most one op asked for (rounded up to a whole MiB: grownSizeBytes), which
 * that op's declared decoder memory bounds.
 */
export class OpScratches {
  private readonly slots = [0, 1].map(() => ({ source: new ScratchBuffer(), output: new ScratchBuffer() }));
  private arena = Buffer.alloc(0);

  /**
   * Step `index`'s buffers, taken when it starts: its slot's source and output stay valid until
   * step index + 2 starts; what the arena lends, until the next step starts.
   */
  forStep(index: number): StepBuffers {
    const slot = this.slots[index % 2]!;
    let usedBytes = 0;
    const patch: PatchBuffers = (sizeBytes, use = 'output') => {
      if (use === 'output') return slot.output.take(sizeBytes);
      // Grown to what this op has asked for so far; the views lent before stay on the old buffer.
      if (usedBytes + sizeBytes > this.arena.length)
        this.arena = Buffer.allocUnsafeSlow(grownSizeBytes(usedBytes + sizeBytes));
      const lent = this.arena.subarray(usedBytes, usedBytes + sizeBytes);
      usedBytes += sizeBytes;
      return lent;
    };
    return { source: slot.source, patch };
  }
}

/**
 * Reads back blocks of the image being written (OutputImage.readBackInto): a DIFF op's target
 * source (1.6), which earlier ops wrote.
 */
export type TargetBlocks = (extents: readonly Extent[], into: Buffer) => Promise<void>;

/**
 * The bytes step `op` writes (undefined: zeros), made from the old image, the blocks written
 * before (`written`, for a DIFF op with a target source) and the package: `where` labels errors;
 * `buffers` are the step's (OpScratches.forStep); `checkSources` re-hashes what COPY and DIFF
 * read against the package.
 */
export async function produceStep(
  reader: PackageReader,
  op: ApplyStep,
  old: BlockSource | undefined,
  bs: number,
  where: string,
  buffers: StepBuffers,
  checkSources: boolean,
  written?: TargetBlocks,
): Promise<Buffer | undefined> {
  const dstBytes = totalBlocks(op.dst) * bs;
  switch (op.type) {
    case 'zero':
      return undefined;
    case 'stash':
    case 'free':
      // An in-place package applied A/B style: the old image is never written, so every source
      // block (stashed or not) is still read from it; stash steps write nothing.
      return Buffer.alloc(0);
    case 'keep':
      return readExtentsInto(old!, op.dst, bs, buffers.source);
    case 'copy':
      return readSource(old, op.src, [], undefined, checkSources ? op.srcSha256 : undefined, bs, where, buffers.source);
    case 'replace': {
      const blob = await reader.readBlob(op.blob, where);
      // Into the step's reused output buffer: a new one per op stayed resident until a full GC
      // (full-package ops of 8 MiB: ~50 MiB more peak RSS).
      return decoderFor(op.codec).decode(blob, dstBytes, op.decoderMemoryBytes, buffers.patch(dstBytes, 'output'));
    }
    case 'diff': {
      const src = await readSource(
        old,
        op.src,
        op.targetSrc ?? [],
        written,
        checkSources ? op.srcSha256 : undefined,
        bs,
        where,
        buffers.source,
      );
      const blob = await reader.readBlob(op.blob, where);
      // The op's declared decoder memory (checked against the device's limit) bounds every decoded block.
      return patcherFor(op.differ).patch(src, blob, dstBytes, op.decoderMemoryBytes, buffers.patch);
    }
    default:
      return assertNever(op);
  }
}

/**
 * Reads `extents` of the old image, then `targetExtents` of the image being written (`written`),
 * into one buffer, checked against `sha256` when given.
 */
async function readSource(
  old: BlockSource | undefined,
  extents: readonly Extent[],
  targetExtents: readonly Extent[],
  written: TargetBlocks | undefined,
  sha256: Uint8Array | undefined,
  bs: number,
  where: string,
  scratch: ScratchBuffer,
): Promise<Buffer> {
  // A sourceless DIFF (FORMAT.md §4, 1.4) reads nothing: its source is zero bytes, and a full
  // partition has no old image to read from.
  const oldBytes = totalBlocks(extents) * bs;
  const data = scratch.take(oldBytes + totalBlocks(targetExtents) * bs);
  if (extents.length > 0) await readExtentsAt(old!, extents, bs, data.subarray(0, oldBytes));
  if (targetExtents.length > 0) {
    // The applier passes `written` for every output it lets such an op reach (apply-partition.ts).
    if (!written) throw new Error(`${where}: reads the target image, but this output cannot be read back`);
    await written(targetExtents, data.subarray(oldBytes));
  }
  if (sha256 && !sha256Of(data).equals(Buffer.from(sha256))) {
    const what = targetExtents.length > 0 ? 'old image blocks and blocks written before' : 'old image blocks';
    throw new VerificationError('SOURCE_MISMATCH', `${where}: ${what} do not match the package's source hash`);
  }
  return data;
}

function sha256Of(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
