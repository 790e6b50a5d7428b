// Hashing a whole image file by path (opened, hashed with hashBlocks, closed), the job an
// encode worker runs so the old and new images of a build are hashed on two threads. Also
// moves a BlockDigests across a thread boundary: its typed arrays are transferred, not copied.

import { hashBlocks, type BlockDigests, type HashProgress } from '../hashing/block-digests.js';
import { openImage } from '../image/open-image.js';

/** An image to hash: its path, block size, and whether to sample anchors and find zip members (see hashBlocks). */
export interface HashJob {
  readonly path: string;
  readonly blockSizeBytes: number;
  readonly withAnchors: boolean;
  readonly zipSpanMaxBlocks?: number;
}

/** Opens `job.path`, hashes every block (hashBlocks) and closes it. Memory: hashBlocks'. */
export async function hashImageFile(job: HashJob, onProgress?: HashProgress): Promise<BlockDigests> {
  const source = await openImage(job.path);
  try {
    const { withAnchors, zipSpanMaxBlocks } = job;
    return await hashBlocks(source, job.blockSizeBytes, { onProgress, withAnchors, zipSpanMaxBlocks });
  } finally {
    await source.close();
  }
}

/** The buffers of `d` that postMessage may transfer (each owns its whole ArrayBuffer). */
export function transferablesOf(d: BlockDigests): ArrayBuffer[] {
  return wholeBuffersOf([
    d.digests,
    d.zero,
    d.dontCare,
    d.imageSha256,
    ...(d.anchors ? [d.anchors.fingerprints, d.anchors.positions] : []),
  ]);
}

/**
 * The buffers `views` cover whole, once each: those postMessage may move to another thread
 * (moving a buffer a view covers only in part would take the rest of it along).
 */
export function wholeBuffersOf(views: readonly ArrayBufferView[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const v of views) {
    const b = v.buffer as ArrayBuffer;
    if (v.byteOffset === 0 && v.byteLength === b.byteLength && b.byteLength > 0 && !out.includes(b)) out.push(b);
  }
  return out;
}

/** A BlockDigests as it arrives from postMessage (Buffers come back as plain Uint8Arrays). */
export function digestsFromWire(d: BlockDigests): BlockDigests {
  const buf = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return { ...d, digests: buf(d.digests), imageSha256: buf(d.imageSha256) };
}
