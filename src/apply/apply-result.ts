// What `applyPackage` returns: a single-image result or a release result (one entry per
// partition written), as a discriminated union on `kind` with no placeholder fields.

import type { OutputFormat } from './output-image.js';

/** How an output was written: a file beside the destination renamed into place, or a block device in place. */
export type OutputKind = 'file' | 'block-device';

/** One partition `apply` wrote. */
export interface AppliedPartition {
  readonly name: string;
  readonly outputPath: string;
  /** `delta`, `full`, or `unchanged` (a verified copy of the old image). */
  readonly status: 'delta' | 'full' | 'unchanged';
  readonly sizeBytes: number;
  /** sha256 (hex) of the written image as read back, equal to the package's target sha256. */
  readonly sha256: string;
  readonly operationCount: number;
  readonly outputFormat: OutputFormat;
  readonly outputKind: OutputKind;
  /** Operations skipped because a verified checkpoint (or a verified staged file) covered them. */
  readonly resumedFromOp: number;
}

/** The result of applying a single-image package. */
export interface ImageApplyResult extends Omit<AppliedPartition, 'name'> {
  readonly kind: 'image';
  readonly targetId: string;
  /** The partition name the package carries. */
  readonly partition: string;
}

/** The result of applying a release package: `outputPath` is the folder. */
export interface ReleaseApplyResult {
  readonly kind: 'release';
  readonly outputPath: string;
  readonly targetId: string;
  /** Sum of the partitions' sizes. */
  readonly sizeBytes: number;
  /** Sum of the partitions' operation counts. */
  readonly operationCount: number;
  /** Each `<partition>.img` written, with its own sha256 and resume point. */
  readonly partitions: readonly AppliedPartition[];
}

/** The result of `apply --in-place`: the image rewritten where it is. */
export interface InPlaceApplyResult {
  readonly kind: 'in-place';
  readonly targetId: string;
  readonly partition: string;
  readonly imagePath: string;
  readonly sizeBytes: number;
  /** sha256 (hex) the image now has: the package's target. */
  readonly sha256: string;
  readonly operationCount: number;
  /**
   * What the image was when the run started: the base, the target already, an interrupted run's
   * state, or (a full package, which has no base) any other image.
   */
  readonly start: 'base' | 'done' | 'interrupted' | 'full';
  /** Ops this run executed, and ops it found done (or that write nothing). */
  readonly opsRun: number;
  readonly opsSkipped: number;
  /** The package's stash peak (proven before any write). */
  readonly peakStashBytes: number;
  /** Stash files this run wrote, and their bytes. */
  readonly stashFilesWritten: number;
  readonly stashBytesWritten: number;
  /** Whether the stash folder was removed at the end (it is kept when it holds foreign files). */
  readonly stashFolderRemoved: boolean;
}

/** What `apply` produced. */
export type ApplyResult = ImageApplyResult | ReleaseApplyResult | InPlaceApplyResult;
