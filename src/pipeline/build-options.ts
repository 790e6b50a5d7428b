// Options and results of buildPackages, the library's main entry point.

import type { Reporter } from '../reporter.js';

/** What to build. Paths are files; `outDir` is created if missing. */
export interface BuildOptions {
  /** Old image; omit for a full (non-delta) package. */
  readonly oldPath?: string;
  readonly newPath: string;
  readonly outDir: string;
  /** Comma list of target ids, aliases or profile paths. Default `qualcomm,mediatek,unisoc`. */
  readonly targets?: string;
  /** `auto` (default) or one codec name. */
  readonly codec?: string;
  /** Level for the codec(s); default: each codec's own default. */
  readonly level?: number;
  /** `auto` (default) or one differ name. */
  readonly differ?: string;
  /** Private key for every target. */
  readonly keyPath?: string;
  /** Private key per target id (overrides keyPath). */
  readonly keyPathByTarget?: Readonly<Record<string, string>>;
  /** SoC/platform label for the target header; default: each profile's. */
  readonly platform?: string;
  readonly sourceVersion?: string;
  readonly targetVersion?: string;
  readonly partitionName?: string;
  /** Anti-rollback timestamp (seconds); default SOURCE_DATE_EPOCH passed in by the caller, else 0. */
  readonly timestampSeconds?: number;
  /** Worker threads for encoding; default: available cores. */
  readonly jobs?: number;
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

/** Result of a build. */
export interface BuildResult {
  readonly kind: 'delta' | 'full';
  readonly source?: InputSummary;
  readonly target: InputSummary;
  readonly packages: readonly BuiltPackage[];
  /** Milliseconds per phase. */
  readonly timingsMs: Record<string, number>;
}
