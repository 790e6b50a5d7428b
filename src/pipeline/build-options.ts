// Options and results of buildPackages, the library's main entry point.

import type { PackageProperties } from '../package/package-properties.js';
import type { Reporter } from '../reporter.js';
import type { EncodePlugins } from './encode-chunk.js';
import type { EncodePool } from './encode-pool.js';
import type { SignerOptions } from '../signing/open-signer.js';
import type { UpdateMode } from '../model/target-profile.js';

/**
 * What to build. `newPath` (and `oldPath`) are image files, or both releases: a folder or layout
 * file (Qualcomm rawprogram XML, MediaTek scatter, Unisoc PAC, folder of <partition>.img).
 * `outDir` is created if missing.
 */
export interface BuildOptions {
  /** Old image or release; omit for a full (non-delta) package. */
  readonly oldPath?: string;
  readonly newPath: string;
  readonly outDir: string;
  /**
   * Comma list of target ids, aliases or profile paths. Default: the release's chipset for a
   * vendor release, else `qualcomm,mediatek,unisoc`.
   */
  readonly targets?: string;
  /** `auto` (default) or one codec name. */
  readonly codec?: string;
  /** Level for the codec(s); default: each codec's own default. */
  readonly level?: number;
  /** `auto` (default) or one differ name. */
  readonly differ?: string;
  /** Private key for every target: a PEM file or a `pkcs11:` URI. */
  readonly keyPath?: string;
  /** Private key per target id (overrides keyPath). */
  readonly keyPathByTarget?: Readonly<Record<string, string>>;
  /** Keys for every target, each signing (key rotation: up to 4); overrides keyPath. */
  readonly keyPaths?: readonly string[];
  /** Keys per target id (override keyPaths and keyPathByTarget). */
  readonly keyPathsByTarget?: Readonly<Record<string, readonly string[]>>;
  /** PKCS#11 module and PIN, sign command: signers other than PEM files. */
  readonly signing?: SignerOptions;
  /** SoC/platform label for the target header; default: each profile's. */
  readonly platform?: string;
  readonly sourceVersion?: string;
  readonly targetVersion?: string;
  /** Partition name of a single image; default: the profile's (usually `system`). */
  readonly partitionName?: string;
  /** Releases: update exactly these partitions (manifest names, no slot suffix). */
  readonly partitions?: readonly string[];
  /** Releases: leave these partitions out. */
  readonly excludePartitions?: readonly string[];
  /** Anti-rollback timestamp (seconds); default SOURCE_DATE_EPOCH passed in by the caller, else 0. */
  readonly timestampSeconds?: number;
  /**
   * `in-place` or `ab` for every target, overriding the profiles' `updateMode` (`build
   * --update-mode`). In-place packages are ordered for rewriting the old image where it is.
   */
  readonly updateMode?: UpdateMode;
  /**
   * Encoders/differs replacing the registered ones of the same name (encoding then runs
   * in-process). Test-only injection point, to prove the self-check refuses a broken plugin.
   */
  readonly plugins?: EncodePlugins;
  /** Worker threads for encoding; default: available cores. */
  readonly jobs?: number;
  /**
   * Workers started by the caller (EncodePool.create) for this build, instead of `jobs`: a CLI
   * starts them before loading the build's code, so they are up when hashing begins. The build
   * closes them when it ends, whether it succeeds or fails.
   */
  readonly pool?: EncodePool;
  readonly reporter?: Reporter;
}

/** One written package. */
export interface BuiltPackage {
  readonly target: string;
  readonly path: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly signatureAlgorithm: string;
  readonly operationCounts: Record<string, number>;
  readonly blobBytesByKind: Record<string, number>;
  /**
   * The self-check's proof: ops with a blob that were decoded (codec) or patched (differ) by the
   * decode-side half and compared with the new data, and the new bytes compared.
   */
  readonly selfCheck: { readonly opsDecoded: number; readonly bytesCompared: number };
  /**
   * In-place packages only: the peak stash the op order needs (≤ the profile's maxStashBytes, as
   * the reader's proof checks), the ops turned into REPLACE to stay within it, and STASH ops.
   */
  readonly inPlace?: {
    readonly peakStashBytes: number;
    readonly convertedReplaceOps: number;
    readonly stashOps: number;
  };
  /** update-<target>.properties.json written beside the package. */
  readonly propertiesPath: string;
  /** Its content: offsets and hashes for downloaders. */
  readonly properties: PackageProperties;
}

/** An input image as the build read it. */
export interface InputSummary {
  readonly path: string;
  /** Container: `raw` or `sparse`. */
  readonly format: string;
  readonly sizeBytes: number;
  /** sha256 of the expanded image, DONT_CARE blocks as zeros. */
  readonly sha256: string;
  readonly dontCareBlocks: number;
}

/** What one partition became in the packages. */
export interface PartitionSummary {
  readonly name: string;
  /** `changed` (ops), `unchanged` (listed without ops), `new` (no old image) or `full` (full build). */
  readonly status: 'changed' | 'unchanged' | 'new' | 'full';
  readonly source?: InputSummary;
  readonly target: InputSummary;
}

/** Result of a build. */
export interface BuildResult {
  readonly kind: 'delta' | 'full';
  /** `image` for single images, else the release layout (`qualcomm-rawprogram`, …). */
  readonly input: string;
  /** The old and new image of a single-image build. */
  readonly source?: InputSummary;
  readonly target?: InputSummary;
  /** Every partition in the packages and what it became (one for a single image). */
  readonly partitions: readonly PartitionSummary[];
  /** Bytes of every new partition image together (the "% of full" base). */
  readonly newSizeBytes: number;
  readonly packages: readonly BuiltPackage[];
  /** Milliseconds per phase. */
  readonly timingsMs: Record<string, number>;
}
