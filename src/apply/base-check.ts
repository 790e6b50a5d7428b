// The base check: the old image must be the one the package was built from (size, then the image
// sha256 with DONT_CARE blocks as zeros). Run before anything is written (checkBase), or started
// on the second core (startBaseCheck) while a file output is written: a plain old image file is
// hashed through the applier's own descriptor (the very file it reads, never reopened by name) by
// descriptor-hasher.ts (a worker thread, or this one for a small file); any other source is
// hashed on the main thread between the ops' awaits.

import { ioError, VerificationError } from '../errors/ota-error.js';
import { imageSha256 } from '../hashing/image-sha256.js';
import type { BlockSource } from '../image/block-source.js';
import { RawImageSource } from '../image/raw-image-source.js';
import type { PartitionUpdate } from '../model/manifest.js';
import { startDescriptorHash } from './descriptor-hasher.js';

/** Checks the old image against the package's source identity; returns its sha256 (hex). */
export async function checkBase(old: BlockSource, part: PartitionUpdate, blockSizeBytes: number): Promise<string> {
  checkBaseSize(old, part);
  // DONT_CARE blocks of the source are undefined on the device: they count as zeros.
  return matchBase(old, part, await imageSha256(old, blockSizeBytes, part.source!.dontCare));
}

/**
 * checkBase, started: the size is checked now (throws), the hash runs through the descriptor
 * (on a worker thread unless the file is small) when `old` is a plain file. The promise must be settled before `old` is closed (the worker reads its
 * descriptor); it rejects with `WRONG_BASE` like checkBase.
 */
export function startBaseCheck(old: BlockSource, part: PartitionUpdate, blockSizeBytes: number): Promise<string> {
  checkBaseSize(old, part);
  const fd = old instanceof RawImageSource ? old.fileDescriptor() : undefined;
  if (fd === undefined) return checkBase(old, part, blockSizeBytes);
  const zeroed = part.source!.dontCare.map(
    (e) => [e.startBlock * blockSizeBytes, e.blockCount * blockSizeBytes] as const,
  );
  return startDescriptorHash(fd, { sizeBytes: old.sizeBytes, zeroed })
    .digest()
    .then(
      (digest) => matchBase(old, part, digest),
      (err: unknown) => {
        throw ioError('hash old image', old.path, err);
      },
    );
}

function checkBaseSize(old: BlockSource, part: PartitionUpdate): void {
  if (old.sizeBytes !== part.source!.sizeBytes) {
    throw new VerificationError(
      'WRONG_BASE',
      `old image ${old.path} is ${old.sizeBytes} bytes; the package was built from a ${part.source!.sizeBytes}-byte image (sha256 ${expectedOf(part).slice(0, 16)}…)`,
    );
  }
}

function matchBase(old: BlockSource, part: PartitionUpdate, digest: Buffer): string {
  const actual = digest.toString('hex');
  const expected = expectedOf(part);
  if (actual !== expected) {
    throw new VerificationError(
      'WRONG_BASE',
      `old image ${old.path} has sha256 ${actual.slice(0, 16)}…, the package needs ${expected.slice(0, 16)}…`,
    );
  }
  return actual;
}

function expectedOf(part: PartitionUpdate): string {
  return Buffer.from(part.source!.sha256).toString('hex');
}
