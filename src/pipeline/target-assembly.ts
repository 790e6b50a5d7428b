// TargetAssembly: collects one target's operations and blob ranges while the shared plan is
// encoded, partition by partition, then turns them into that target's manifest and target header.

import type { Extent } from '../model/extent.js';
import type { ImageIdentity, Manifest, PartitionUpdate } from '../model/manifest.js';
import type { Operation } from '../model/operation.js';
import type { PartitionLayout, TargetHeader } from '../model/target-header.js';
import type { StorageType, TargetProfile } from '../model/target-profile.js';
import type { SpoolRange } from '../package/blob-spool.js';
import { candidateLabel, type EncodedCandidate } from '../planner/candidates.js';
import type { Signer } from '../signing/key-pair.js';
import { proveInPlace } from '../format/in-place-proof.js';
import { InternalError } from '../errors/ota-error.js';
import { selfCheckError } from './self-check.js';

/** Per-target state during a build. */
export class TargetAssembly {
  /** Operations of the partition being encoded (moved into `partitions` by endPartition). */
  operations: Operation[] = [];
  readonly partitions: PartitionUpdate[] = [];
  readonly blobRanges: SpoolRange[] = [];
  private blobOffsetBytes = 0;
  private maxDecoderMemoryBytes = 0;
  /** The least format minor the kept blobs need beyond the manifest's (EncodedCandidate.formatMinor). */
  blobFormatMinor = 0;
  /** Bytes of blob data per op kind label, for reports. */
  readonly bytesByKind = new Map<string, number>();
  /** Ops with a blob whose bytes the self-check decoded, and the new bytes it compared. */
  readonly selfCheck = { opsDecoded: 0, bytesCompared: 0 };

  /** Every key that signs this target's package (more than one during a key rotation). */
  readonly signers: readonly Signer[];

  constructor(
    readonly profile: TargetProfile,
    signer: Signer | readonly Signer[],
    readonly platform: string,
    /** Where partitions live on the device, for packages built from a release. */
    readonly release:
      | {
          readonly layout: string;
          readonly storage?: StorageType;
          readonly partitionLayouts: readonly PartitionLayout[];
        }
      | undefined = undefined,
  ) {
    this.signers = Array.isArray(signer) ? (signer as readonly Signer[]) : [signer as Signer];
  }

  /** The first signer (all share its algorithm). */
  get signer(): Signer {
    return this.signers[0]!;
  }

  /** In-place packages: what the ordering cost (peak stash, ops turned into REPLACE, stash ops). */
  readonly inPlace = { peakStashBytes: 0, convertedReplaceOps: 0, stashOps: 0 };

  /** Closes the partition whose ops were just added (none for an unchanged partition). */
  endPartition(name: string, source: ImageIdentity | undefined, target: ImageIdentity, convertedReplaceOps = 0): void {
    const part: PartitionUpdate = { name, source, target, operations: this.operations };
    if (this.profile.updateMode === 'in-place') {
      // The reader runs the same proof before any write; the builder refuses to write what it would refuse.
      const proof = proveInPlace(part, this.profile.blockSizeBytes, this.profile.maxStashBytes);
      this.inPlace.peakStashBytes = Math.max(this.inPlace.peakStashBytes, proof.peakStashBytes);
      this.inPlace.convertedReplaceOps += convertedReplaceOps;
      this.inPlace.stashOps += proof.stashCount;
      this.partitions.push(convertedReplaceOps > 0 ? { ...part, convertedReplaceOps } : part);
    } else this.partitions.push(part);
    this.operations = [];
  }

  /** Operation count per type over every partition, for reports. */
  operationCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const p of this.partitions) for (const op of p.operations) counts[op.type] = (counts[op.type] ?? 0) + 1;
    return counts;
  }

  /** Adds an op without data. */
  addPlain(op: Operation): void {
    this.operations.push(op);
  }

  /** Adds the op for a chosen candidate whose bytes sit at `range` in the spool. */
  addEncoded(
    c: EncodedCandidate,
    range: SpoolRange,
    sha256: Uint8Array,
    dst: readonly Extent[],
    src: readonly Extent[],
    srcSha256: Uint8Array,
    inPlace: { readonly dstSha256?: Uint8Array; readonly stashIds: readonly number[] } = { stashIds: [] },
    /** A DIFF's source blocks read back from the image being written (1.6), after `src`. */
    targetSrc: readonly Extent[] = [],
  ): void {
    // In-place ops name the stashes they read and the hash of what they write (format 1.3).
    const isInPlace = this.profile.updateMode === 'in-place';
    if (isInPlace && inPlace.dstSha256 === undefined)
      throw new InternalError(
        'INTERNAL',
        `an in-place op for blocks ${dst[0]!.startBlock}+${dst[0]!.blockCount} has no dstSha256`,
      );
    const dstHash = isInPlace ? { dstSha256: inPlace.dstSha256 } : {};
    const extra = { ...dstHash, ...(isInPlace && inPlace.stashIds.length > 0 ? { stashIds: inPlace.stashIds } : {}) };
    if (c.selfCheckedBytes === undefined) {
      throw selfCheckError(
        `self-check: ${candidateLabel(c.spec)} for blocks ${dst[0]!.startBlock}+${dst[0]!.blockCount} was kept without being decoded`,
      );
    }
    this.selfCheck.opsDecoded += 1;
    this.blobFormatMinor = Math.max(this.blobFormatMinor, c.formatMinor ?? 0);
    this.selfCheck.bytesCompared += c.selfCheckedBytes;
    const blob = { offsetBytes: this.blobOffsetBytes, sizeBytes: range.sizeBytes, sha256 };
    this.blobOffsetBytes += range.sizeBytes;
    this.blobRanges.push(range);
    this.maxDecoderMemoryBytes = Math.max(this.maxDecoderMemoryBytes, c.decoderMemoryBytes);
    const label = c.spec.kind === 'replace' ? `replace/${c.spec.codec}` : `diff/${c.spec.differ}`;
    this.bytesByKind.set(label, (this.bytesByKind.get(label) ?? 0) + range.sizeBytes);
    if (c.spec.kind === 'replace') {
      this.operations.push({
        type: 'replace',
        dst: [...dst],
        codec: c.spec.codec,
        blob,
        decoderMemoryBytes: c.decoderMemoryBytes,
        ...dstHash,
      });
    } else {
      this.operations.push({
        type: 'diff',
        dst: [...dst],
        src,
        srcSha256,
        differ: c.spec.differ,
        blob,
        decoderMemoryBytes: c.decoderMemoryBytes,
        ...extra,
        ...(targetSrc.length > 0 ? { targetSrc: [...targetSrc] } : {}),
      });
    }
  }

  /** The target header this package carries. */
  targetHeader(): TargetHeader {
    const p = this.profile;
    return {
      targetId: p.id,
      vendor: p.vendor,
      platform: this.platform,
      // The release's layout knows the device's storage better than the profile's default.
      storage: this.release?.storage ?? p.storage,
      blockSizeBytes: p.blockSizeBytes,
      updateMode: p.updateMode,
      signatureAlgorithm: this.signer.algorithm.name,
      decoderMemoryLimitBytes: p.decoderMemoryLimitBytes,
      maxOperationBytes: p.maxOperationBytes,
      ...(p.updateMode === 'in-place' ? { maxStashBytes: p.maxStashBytes } : {}),
      partitionLayout: p.partitionLayout,
      slotSuffixes: p.slotSuffixes,
      releaseLayout: this.release?.layout ?? '',
      partitionLayouts: this.release?.partitionLayouts ?? [],
    };
  }

  /** The manifest for this target, once every partition has ended. */
  manifest(m: { timestampSeconds: number; sourceVersion: string; targetVersion: string }): Manifest {
    return {
      blockSizeBytes: this.profile.blockSizeBytes,
      timestampSeconds: m.timestampSeconds,
      sourceVersion: m.sourceVersion,
      targetVersion: m.targetVersion,
      partitions: this.partitions,
      maxDecoderMemoryBytes: this.maxDecoderMemoryBytes,
      // A/B: the device writes every partition's new image into the other slot; in-place: it
      // needs room for the stash peak only (the image is rewritten where it is).
      requiredSpaceBytes:
        this.profile.updateMode === 'in-place'
          ? this.inPlace.peakStashBytes
          : this.partitions.reduce((n, p) => n + p.target.sizeBytes, 0),
    };
  }
}
