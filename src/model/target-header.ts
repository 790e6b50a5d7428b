// TargetHeader: what a package says about the chipset target it was built for (FORMAT.md §3).

import type { SignatureAlgorithmName, StorageType, UpdateMode } from './target-profile.js';

/**
 * Where one partition of a multi-partition package lives on the device, as the release layout
 * said (FORMAT.md §3). Fields a layout does not use are 0 or ''.
 */
export interface PartitionLayout {
  /** The manifest partition this entry places (no slot suffix). */
  readonly name: string;
  /** `_a`/`_b` when the layout lists slots; '' otherwise. */
  readonly slotSuffix: string;
  /** Bytes the layout reserves for the partition; 0 when it does not say. */
  readonly layoutSizeBytes: number;
  /** Image file name in the release. */
  readonly fileName: string;
  /** Qualcomm: physical partition number (UFS LUN). */
  readonly lun: number;
  /** Qualcomm: first sector. */
  readonly startSector: number;
  /** Qualcomm: SECTOR_SIZE_IN_BYTES (4096 UFS, 512 eMMC). */
  readonly sectorSizeBytes: number;
  /** MediaTek: scatter region (`EMMC_USER`, `UFS_LU2`, …). */
  readonly region: string;
  /** MediaTek: linear start address; Unisoc: the PAC entry's first address. */
  readonly addressBytes: number;
  /** Unisoc: PAC partition id. */
  readonly partitionId: string;
}

/** The per-target header of one package. */
export interface TargetHeader {
  readonly targetId: string;
  readonly vendor: string;
  readonly platform: string;
  readonly storage: StorageType;
  readonly blockSizeBytes: number;
  readonly updateMode: UpdateMode;
  readonly signatureAlgorithm: SignatureAlgorithmName;
  readonly decoderMemoryLimitBytes: number;
  readonly maxOperationBytes: number;
  /** In-place packages (1.3): the stash limit the package was ordered for; absent (0) for A/B packages. */
  readonly maxStashBytes?: number;
  readonly partitionLayout: string;
  readonly slotSuffixes: readonly string[];
  /** Release layout the package was built from (`qualcomm-rawprogram`, …); '' for a single image. */
  readonly releaseLayout: string;
  /** Device placement of each partition (one entry per slot); empty for a single image. */
  readonly partitionLayouts: readonly PartitionLayout[];
}
