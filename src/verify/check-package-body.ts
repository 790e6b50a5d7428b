// Checks a package's body: the payload signature and every blob's sha256, streaming in op order,
// and trial-decodes every REPLACE blob and patches every sourceless DIFF blob (they need no old
// image; the output is dropped), so a package that can never apply does not verify. Decode side
// only: never imports an encoder.

import { decoderFor } from '../codecs/decoder-registry.js';
import { patcherFor } from '../diff/patcher-registry.js';
import { ScratchBuffer } from '../image/extent-io.js';
import { totalBlocks } from '../model/extent.js';
import { blobOf, targetSourceOf } from '../model/operation.js';
import type { PackageReader } from '../package/package-reader.js';

/** What checkPackageBody checked. */
export interface BodyChecks {
  /** Blobs whose sha256 matched. */
  readonly blobCount: number;
  /** REPLACE blobs that decoded, and sourceless DIFF blobs that patched, to exactly their destination size. */
  readonly decodedCount: number;
}

/** How checkPackageBody runs. */
export interface BodyCheckOptions {
  /**
   * Decode REPLACE and sourceless DIFF blobs (default true); the build skips it: its self-check
   * already decoded them.
   */
  readonly decode?: boolean;
  /** Check the blobs before the payload signature (a streamed package: one pass feeds both). */
  readonly blobsFirst?: boolean;
}

/**
 * Verifies the payload signature and every blob hash, decodes every REPLACE blob with its codec
 * and patches every sourceless DIFF blob (FORMAT.md §4, 1.4) onto zero bytes with its patcher,
 * bounded by the op's declared decoder memory (the output is dropped). Memory: one op's blob and
 * one reused output buffer.
 */
export async function checkPackageBody(reader: PackageReader, options: BodyCheckOptions = {}): Promise<BodyChecks> {
  if (!options.blobsFirst) await reader.verifyPayloadSignature();
  const bs = reader.manifest.blockSizeBytes;
  let blobCount = 0;
  let decodedCount = 0;
  const output = new ScratchBuffer(); // every REPLACE decodes into it: the output is dropped
  for (const part of reader.manifest.partitions) {
    for (const [i, op] of part.operations.entries()) {
      const blob = blobOf(op);
      if (!blob) continue;
      const bytes = await reader.readBlob(blob, `partition ${part.name} op ${i} (${op.type})`);
      blobCount++;
      if (options.decode === false) continue;
      const dstBytes = totalBlocks(op.dst) * bs;
      if (op.type === 'replace')
        await decoderFor(op.codec).decode(bytes, dstBytes, op.decoderMemoryBytes, output.take(dstBytes));
      else if (op.type === 'diff' && op.src.length === 0 && targetSourceOf(op).length === 0)
        await patcherFor(op.differ).patch(new Uint8Array(0), bytes, dstBytes, op.decoderMemoryBytes);
      else continue;
      decodedCount++;
    }
  }
  if (options.blobsFirst) await reader.verifyPayloadSignature();
  return { blobCount, decodedCount };
}
