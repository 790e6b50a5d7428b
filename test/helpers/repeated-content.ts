// An image pair whose new image repeats new content: the old image holds content A; the new one
// holds A with a few edits, new content R (in no old block) at 3 MiB and an edited copy of R at
// 6 MiB, in another chunk. The copy is like nothing in the old image, only like R: what a DIFF
// op reading target blocks (format 1.6) is for.

import { syntheticImage } from './edit-images.js';

const MiB = 1024 * 1024;

/** The pair and where its new content sits. */
export interface RepeatedContentPair {
  readonly old: Buffer;
  readonly next: Buffer;
  /** The new content and its edited copy, and where each sits in `next` (bytes). */
  readonly fresh: Buffer;
  readonly freshAtBytes: number;
  readonly copy: Buffer;
  readonly copyAtBytes: number;
}

/** An 8 MiB pair (see the file comment); the same bytes on every call. */
export function repeatedContentPair(): RepeatedContentPair {
  const fresh = syntheticImage(512 * 1024, 71);
  const copy = Buffer.concat([
    fresh.subarray(0, 200_000),
    Buffer.alloc(100, 0x5a),
    fresh.subarray(200_000, fresh.length - 100),
  ]);
  for (let i = 0; i < 30; i++) copy[i * 15_000 + 11] = copy[i * 15_000 + 11]! ^ 0x3c;
  const old = Buffer.alloc(8 * MiB);
  syntheticImage(2 * MiB, 72).copy(old, 0);
  const next = Buffer.from(old);
  for (let i = 0; i < 20; i++) next[i * 100_000 + 5] = next[i * 100_000 + 5]! ^ 0xff;
  fresh.copy(next, 3 * MiB);
  copy.copy(next, 6 * MiB);
  return { old, next, fresh, freshAtBytes: 3 * MiB, copy, copyAtBytes: 6 * MiB };
}
