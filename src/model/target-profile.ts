// TargetProfile: the data that describes a chipset target (DESIGN §5). Loaded from JSON, validated in targets/.

/** Storage technology the target writes to. */
export type StorageType = 'ufs' | 'emmc' | 'nand' | 'generic';
/** A/B (write the inactive slot) or in-place (recovery rewrites the live partition). */
export type UpdateMode = 'ab' | 'in-place';
/** Signature algorithms the package format supports. */
export type SignatureAlgorithmName = 'ed25519' | 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-2048' | 'rsa-4096';

/** A chipset target profile. Every field is data; no code branches on the target id. */
export interface TargetProfile {
  /** Stable id written into the package (`qualcomm`, `mediatek`, `unisoc`, `generic`, or a custom one). */
  readonly id: string;
  /** Other names `--target`/`--device-target` accept for a built-in profile (a custom one is named by its path). */
  readonly aliases: readonly string[];
  readonly vendor: string;
  readonly description: string;
  /** Default SoC/platform label when `--platform` is not given. */
  readonly defaultPlatform: string;
  readonly storage: StorageType;
  readonly blockSizeBytes: number;
  readonly updateMode: UpdateMode;
  readonly defaultSignatureAlgorithm: SignatureAlgorithmName;
  /** Why that default was chosen, shown by `targets`. */
  readonly signatureRationale: string;
  readonly allowedOperations: readonly ('zero' | 'copy' | 'replace' | 'diff')[];
  readonly allowedCodecs: readonly string[];
  readonly allowedDiffers: readonly string[];
  /** Largest memory one op's decoder may need on the device. */
  readonly decoderMemoryLimitBytes: number;
  /** Largest destination size of one op. */
  readonly maxOperationBytes: number;
  /**
   * In-place updates: most bytes of old blocks the device may hold in its stash at once (the
   * stash lives in a folder beside the partition, e.g. /cache). 0: no stash, cycles become REPLACE.
   */
  readonly maxStashBytes: number;
  /**
   * Layout the device expects: partition naming scheme, recorded in the target header. Its part
   * before the first `-` is the release family it may be built from (`generic`: any release).
   */
  readonly partitionLayout: string;
  /** A/B slot suffixes such as `_a`,`_b`; empty for in-place. */
  readonly slotSuffixes: readonly string[];
  /** Partition name used when `--partition-name` is not given. */
  readonly defaultPartitionName: string;
  /**
   * Newest package format minor (1.x) the target's appliers read; absent: the newest ota-build
   * writes. Candidates that need a newer minor are not kept for the target (a sourceless DIFF
   * or xz's ARM64 chain need 1.4); a package that still would (in-place 1.3, several signing
   * keys 1.2, release layouts 1.1) is refused with FORMAT_TOO_NEW before it is written.
   */
  readonly maxFormatMinor?: number;
}

/** True when the target's appliers read packages of format 1.`minor` (maxFormatMinor absent: any). */
export function readsFormatMinor(target: TargetProfile, minor: number): boolean {
  return target.maxFormatMinor === undefined || target.maxFormatMinor >= minor;
}
