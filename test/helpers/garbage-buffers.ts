// Test helper: the buffers an applier lends a patcher (PatchBuffers), one per use, filled with
// garbage where a fresh buffer would be zeros and reused from patch to patch, and a check that a
// patch made in them is right: the exact output, in the lent output buffer, each use taken once,
// the source left as it was.

import { expect } from 'vitest';
import type { PatchBufferUse, PatchBuffers } from '../../src/diff/patcher.js';

/** Lends garbage-filled buffers that live across patches. */
export class GarbageBuffers {
  private readonly lent = new Map<PatchBufferUse, Buffer>();

  /**
   * Runs `patch` with buffers lent for it, checks the result against `expected` (see the file
   * comment) and returns the uses it took, in order.
   */
  async check(
    source: Uint8Array,
    expected: Uint8Array,
    patch: (buffers: PatchBuffers) => Promise<Buffer>,
  ): Promise<PatchBufferUse[]> {
    const takes: PatchBufferUse[] = [];
    const buffers: PatchBuffers = (sizeBytes, use = 'output') => {
      takes.push(use);
      // Garbage where a fresh buffer would be zeros: the patcher must write every byte it reads.
      if ((this.lent.get(use)?.length ?? -1) < sizeBytes) this.lent.set(use, Buffer.alloc(sizeBytes, 0xa5));
      return this.lent.get(use)!.subarray(0, sizeBytes);
    };
    const before = Buffer.from(source);
    const made = await patch(buffers);
    expect(made.equals(expected)).toBe(true);
    expect(Buffer.from(source).equals(before)).toBe(true);
    // Each use at most once per patch, and the result is the lent output, no other buffer.
    expect(new Set(takes).size).toBe(takes.length);
    expect(made.buffer).toBe(this.lent.get('output')!.buffer);
    return takes;
  }
}
