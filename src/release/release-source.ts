// ReleaseSource: a whole firmware release — the partitions a chipset vendor's layout file
// describes (Qualcomm rawprogram XML, MediaTek scatter, Unisoc PAC, or a plain folder of
// <partition>.img files). Readers report entries as the layout states them; grouping A/B slots
// and choosing what to update happens in release-partitions.ts.

import type { ImageError } from '../errors/ota-error.js';
import type { BlockSource } from '../image/block-source.js';

/** Which layout a release was read from. Stable strings: they are written into packages. */
export type ReleaseLayoutKind = 'qualcomm-rawprogram' | 'mediatek-scatter' | 'unisoc-pac' | 'generic-folder';

/** Where a partition lives on the device, in the layout's own terms. */
export type PartitionPlacement =
  | {
      readonly kind: 'qualcomm';
      /** physical_partition_number (UFS LUN; 0 on eMMC). */
      readonly lun: number;
      /** First sector, evaluated; undefined when the layout gives an expression (e.g. `NUM_DISK_SECTORS-5.`). */
      readonly startSector: number | undefined;
      /** The start_sector text as written in the layout. */
      readonly startSectorText: string;
      /** SECTOR_SIZE_IN_BYTES: 4096 on UFS, 512 on eMMC. */
      readonly sectorSizeBytes: number;
      readonly sectorCount: number;
    }
  | {
      readonly kind: 'mediatek';
      /** e.g. `EMMC_USER`, `EMMC_BOOT1`, `UFS_LU2`, `NONE`. */
      readonly region: string;
      /** linear_start_addr in bytes. */
      readonly addressBytes: number;
      /** physical_start_addr in bytes (equal to the linear address in most layouts). */
      readonly physicalAddressBytes: number;
      readonly operationType: string;
    }
  | {
      readonly kind: 'unisoc';
      /**
       * The PAC entry's partition id (e.g. `BOOT`, `FDL`, `NV_COMM`); for a partition the PAC's
       * config lists without a file entry (e.g. the `_b` slot), the config's partition name.
       */
      readonly partitionId: string;
      /** The entry's first address field (0 when unused). */
      readonly addressBytes: number;
    }
  | { readonly kind: 'generic' };

/** One partition entry of a release. */
export interface ReleasePartition {
  /** Partition name as the layout writes it, slot suffix included (`boot_a`). */
  readonly name: string;
  /** Bytes the layout reserves for the partition; undefined when the layout does not say. */
  readonly layoutSizeBytes: number | undefined;
  /** The image file (relative to the release root, or the PAC entry's file name); undefined when none. */
  readonly fileName: string | undefined;
  /** False for entries an update must not touch by default (loaders, GPT, boot regions, RPMB…). */
  readonly upgradable: boolean;
  /** Why `upgradable` is false, for the warning (e.g. `download loader (FDL1)`). */
  readonly notUpgradableReason?: string;
  readonly placement: PartitionPlacement;
  /**
   * Set when the layout names a file the release lacks (`RELEASE_MISSING_FILE`, also a generic
   * folder's link to nothing) or one that is no image file (`IMAGE_NOT_FILE`: a generic folder's
   * FIFO or folder named `*.img`): open() throws it, and a build refuses it before any work only
   * when it selects this partition (a missing `userdata.img`, left out by default, does not stop a build).
   */
  readonly unavailable?: ImageError;
  /**
   * Opens the partition's image read-only (raw or Android sparse, sniffed); throws ImageError
   * (exit 3) when there is no image. The caller closes it. Never reads outside the release.
   */
  open(): Promise<BlockSource>;
}

/** A release as read from disk. Holds no image data; close it to release file handles. */
export interface ReleaseSource {
  readonly layout: ReleaseLayoutKind;
  /**
   * The chipset vendor whose target profiles flash this layout (its built-in target id, and the
   * first part of those profiles' partitionLayout), declared by the reader; undefined for a
   * generic release that any target may flash.
   */
  readonly vendor?: string;
  /** The path the user gave (folder or layout file). */
  readonly path: string;
  /** Platform/SoC label when the layout names one (MediaTek platform, Unisoc product). */
  readonly platform?: string;
  /** Storage type when the layout names one: `ufs`, `emmc`, `nand`. */
  readonly storage?: string;
  /** Entries in layout order. Names are unique. */
  readonly partitions: readonly ReleasePartition[];
  close(): Promise<void>;
}
