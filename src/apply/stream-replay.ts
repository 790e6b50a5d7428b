// replayAppliedBlobs: after `apply <URL> --resume`, the blobs of the ops a checkpoint says are done
// are streamed once more, only to feed the payload signature's hash (they are not applied again),
// so the signature is still checked before the output is renamed. A checkpoint of another package
// or a missing one replays nothing; resumePoint decides independently whether to trust it.

import { blobOf } from '../model/operation.js';
import type { PartitionUpdate } from '../model/manifest.js';
import type { PackageReader } from '../package/package-reader.js';
import { readCheckpoint } from './checkpoint.js';
import { sideFilesOf } from './side-files.js';

const CHUNK_BYTES = 1024 * 1024;

/** Reads (and hashes) the blob bytes of the checkpoint's completed ops, in order. */
export async function replayAppliedBlobs(
  reader: PackageReader,
  part: PartitionUpdate,
  outputPath: string,
): Promise<void> {
  const cp = await readCheckpoint(sideFilesOf(outputPath).checkpointPath);
  if ('problem' in cp || cp.packageDigest !== reader.metadataSha256.toString('hex')) return;
  let endBytes = 0;
  for (const op of part.operations.slice(0, cp.completedOps)) {
    const blob = blobOf(op);
    if (blob) endBytes = blob.offsetBytes + blob.sizeBytes;
  }
  const base = reader.layout.blobs.offsetBytes;
  for (let at = 0; at < endBytes; at += CHUNK_BYTES)
    await reader.readRange(base + at, Math.min(CHUNK_BYTES, endBytes - at));
}
