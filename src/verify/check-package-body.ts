// Checks a package's body: the payload signature and every blob's sha256, streaming in op order.

import { blobOf } from '../model/operation.js';
import type { PackageReader } from '../package/package-reader.js';

/**
 * Verifies the payload signature and every blob hash; returns how many blobs were checked.
 * `blobsFirst` checks the blobs before the signature (a streamed package: one pass feeds both).
 */
export async function checkPackageBody(reader: PackageReader, blobsFirst = false): Promise<number> {
  if (!blobsFirst) await reader.verifyPayloadSignature();
  let blobCount = 0;
  for (const part of reader.manifest.partitions) {
    for (const [i, op] of part.operations.entries()) {
      const blob = blobOf(op);
      if (!blob) continue;
      await reader.readBlob(blob, `partition ${part.name} op ${i} (${op.type})`);
      blobCount++;
    }
  }
  if (blobsFirst) await reader.verifyPayloadSignature();
  return blobCount;
}
