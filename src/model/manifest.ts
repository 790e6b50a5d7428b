// Manifest: the signed description of an update (identities, partitions, ops). Pure vocabulary.

import type { Extent } from './extent.js';
import type { Operation } from './operation.js';

/**
 * What an image is: its exact size, its sha256 (with `dontCare` blocks read as zeros), an
 * optional version label, and the blocks whose content is undefined (sparse DONT_CARE).
 */
export interface ImageIdentity {
  readonly sizeBytes: number;
  readonly sha256: Uint8Array;
  readonly version: string;
  readonly dontCare: readonly Extent[];
}

/** The update of one partition: from `source` (absent for a full package) to `target`. */
export interface PartitionUpdate {
  readonly name: string;
  readonly source: ImageIdentity | undefined;
  readonly target: ImageIdentity;
  readonly operations: readonly Operation[];
  /**
   * In-place packages (1.3): how many ops the builder turned into REPLACE because stashing their
   * source would have exceeded the stash limit. Informational; 0 otherwise.
   */
  readonly convertedReplaceOps?: number;
}

/** The whole signed manifest of one package. */
export interface Manifest {
  readonly blockSizeBytes: number;
  /** Seconds since the epoch for anti-rollback: --timestamp or SOURCE_DATE_EPOCH, else 0; never the clock. */
  readonly timestampSeconds: number;
  readonly sourceVersion: string;
  readonly targetVersion: string;
  readonly partitions: readonly PartitionUpdate[];
  /** Largest decoder memory any op declares. */
  readonly maxDecoderMemoryBytes: number;
  /** Bytes the device needs at the destination (new images + scratch). */
  readonly requiredSpaceBytes: number;
}

/**
 * True for a partition a multi-partition package lists without ops because its new image equals
 * the old one (format 1.1): the device keeps or copies the source.
 */
export function isUnchanged(p: PartitionUpdate): boolean {
  return p.operations.length === 0;
}

/** True when two identities describe the same image: size, sha256 and DONT_CARE extents. */
export function sameIdentity(a: ImageIdentity, b: ImageIdentity): boolean {
  if (a.sizeBytes !== b.sizeBytes || a.sha256.length !== b.sha256.length || a.dontCare.length !== b.dontCare.length)
    return false;
  return (
    a.sha256.every((x, i) => x === b.sha256[i]) &&
    a.dontCare.every((e, i) => e.startBlock === b.dontCare[i]!.startBlock && e.blockCount === b.dontCare[i]!.blockCount)
  );
}
