// DigestIndex: finds a block with a given digest anywhere in the old image. Keyed by the first
// 8 bytes of the digest; a hit is confirmed on the full 32 bytes. Memory: ~60 bytes per distinct block.

import type { BlockDigests } from './block-digests.js';

/** Lookup from block digest to the first old block with that digest (zero and DONT_CARE blocks excluded). */
export class DigestIndex {
  private readonly firstByKey = new Map<bigint, number>();

  constructor(private readonly old: BlockDigests) {
    for (let i = 0; i < old.blockCount; i++) {
      if (old.zero[i] || old.dontCare[i]) continue;
      const key = old.digests.readBigUInt64LE(i * 32);
      if (!this.firstByKey.has(key)) this.firstByKey.set(key, i);
    }
  }

  /** Index of an old block whose digest equals `digests[at..at+32)`, or -1. */
  find(digests: Buffer, at: number): number {
    const i = this.firstByKey.get(digests.readBigUInt64LE(at));
    if (i === undefined) return -1;
    return this.old.digests.compare(digests, at, at + 32, i * 32, i * 32 + 32) === 0 ? i : -1;
  }
}
