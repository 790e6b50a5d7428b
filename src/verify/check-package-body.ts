// Checks a package's body: the payload signature and every blob's sha256, streaming in op order,
// and trial-decodes every REPLACE blob (they need no old image) into a discarding sink, so a
// package that can never apply does not verify. Decode side only: never imports an encoder.

import { decoderFor } from '../codecs/decoder-registry.js';
import { totalBlocks } from '../model/extent.js';
import { blobOf } from '../model/operation.js';
import type { PackageReader } from '../package/package-reader.js';

/** What checkPackageBody checked. */
export interface BodyChecks {
  /** Blobs whose sha256 matched. */
  readonly blobCount: number;
  /** REPLACE blobs that decoded to exactly their destination size. */
  readonly decodedCount: number;
}

/** How checkPackageBody runs. */
export interface BodyCheckOptions {
  /** Decode REPLACE blobs (default true); the build skips it: its self-check already decoded them. */
  readonly decode?: boolean;
  /** Check the blobs before the payload signature (a streamed package: one pass feeds both). */
  readonly blobsFirst?: boolean;
}

/**
 * Verifies the payload signature and every blob hash, and decodes every REPLACE blob with its
 * codec, bounded by the op's declared decoder memory (the output is dropped). Memory: one op's
 * blob and output at a time.
 */
export async function checkPackageBody(reader: PackageReader, options: BodyCheckOptions = {}): Promise<BodyChecks> {
  if (!options.blobsFirst) await reader.verifyPayloadSignature();
  const bs = reader.manifest.blockSizeBytes;
  let blobCount = 0;
  let decodedCount = 0;
  for (const part of reader.manifest.partitions) {
    for (const [i, op] of part.operations.entries()) {
      const blob = blobOf(op);
      if (!blob) continue;
      const bytes = await reader.readBlob(blob, `partition ${part.name} op ${i} (${op.type})`);
      blobCount++;
      if (op.type !== 'replace' || options.decode === false) continue;
      await decoderFor(op.codec).decode(bytes, totalBlocks(op.dst) * bs, op.decoderMemoryBytes);
      decodedCount++;
    }
  }
  if (options.blobsFirst) await reader.verifyPayloadSignature();
  return { blobCount, decodedCount };
}
