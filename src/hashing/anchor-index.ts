// AnchorIndex: looks up the old image's anchors by fingerprint (one sorted BigUint64Array of
// fingerprint‖anchor-number keys). Fingerprints that occur too often (repetitive data) are
// ignored: they say nothing about where a chunk came from. Memory: 8 bytes per anchor + the list.

import { lowerBound } from '../extents/lower-bound.js';
import type { AnchorList } from './anchor-sampler.js';

/** Fingerprints seen more often than this in the old image are not used for voting. */
export const MAX_OCCURRENCES = 8;

/** Old-image anchors, searchable by fingerprint. */
export class AnchorIndex {
  private readonly keys: BigUint64Array;

  constructor(private readonly old: AnchorList) {
    this.keys = new BigUint64Array(old.count);
    for (let i = 0; i < old.count; i++) this.keys[i] = (BigInt(old.fingerprints[i]!) << 32n) | BigInt(i);
    this.keys.sort();
  }

  /** Old positions of anchors with this fingerprint (empty when absent or too common). */
  positionsOf(fingerprint: number): number[] {
    const lo = BigInt(fingerprint) << 32n;
    const a = lowerBound(this.keys, lo);
    const out: number[] = [];
    for (let i = a; i < this.keys.length && this.keys[i]! >> 32n === BigInt(fingerprint); i++) {
      if (out.length === MAX_OCCURRENCES) return [];
      out.push(this.old.positions[Number(this.keys[i]! & 0xffffffffn)]!);
    }
    return out;
  }

  /**
   * Votes for where the new bytes `[startBytes, endBytes)` came from: for every new anchor in
   * the range that matches old anchors, the displacement old − new. Returns up to `limit`
   * displacements (in bytes), most votes first; ties go to the smaller displacement.
   */
  likelyDisplacements(
    next: AnchorList,
    startBytes: number,
    endBytes: number,
    limit: number,
    bucketBytes: number,
  ): number[] {
    const votes = new Map<number, number>();
    for (let i = lowerBound(next.positions, startBytes); i < next.count && next.positions[i]! < endBytes; i++) {
      for (const oldPos of this.positionsOf(next.fingerprints[i]!)) {
        const bucket = Math.round((oldPos - next.positions[i]!) / bucketBytes);
        votes.set(bucket, (votes.get(bucket) ?? 0) + 1);
      }
    }
    return [...votes.entries()]
      .filter(([, n]) => n >= 2)
      .sort((x, y) => y[1] - x[1] || Math.abs(x[0]) - Math.abs(y[0]) || x[0] - y[0])
      .slice(0, limit)
      .map(([bucket]) => bucket * bucketBytes);
  }
}
