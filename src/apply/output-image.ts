// Where the applier writes the new image: a raw file (raw-output.ts: random writes by extent; can
// be reopened to resume) or an Android sparse image (sparse-output.ts: streamed in destination
// order). Both report the sha256 of the expanded result, hashed through the handle that wrote it
// (raw) so the file renamed is the file hashed; the applier renames only after that matches the
// package. New files are created with O_EXCL (never through a planted symlink); a resumed one is
// reopened with O_NOFOLLOW and checked with fstat (owned-file.ts) before it is truncated or written.

import type { Extent } from '../model/extent.js';
import type { Reporter } from '../reporter.js';
import type { FileId } from './owned-file.js';

/** Output container formats. */
export type OutputFormat = 'raw' | 'sparse';

/** Whether an image of `sizeBytes` has an Android sparse form: whole blocks only. */
export function hasSparseForm(sizeBytes: number, blockSizeBytes: number): boolean {
  return sizeBytes % blockSizeBytes === 0;
}

/**
 * The container a partition's file output takes when --output-format is not given: sparse when
 * the old image was and the new one has a sparse form, else raw. When the old image was sparse
 * but the new one has none, says so (OUTPUT_RAW): the file is raw where a sparse one was expected.
 */
export function defaultOutputFormat(
  partition: string,
  oldFormat: string | undefined,
  newSizeBytes: number,
  blockSizeBytes: number,
  reporter: Reporter,
): OutputFormat {
  if (oldFormat !== 'sparse') return 'raw';
  if (hasSparseForm(newSizeBytes, blockSizeBytes)) return 'sparse';
  reporter.warn({
    code: 'OUTPUT_RAW',
    message: `partition ${partition}: the old image is sparse, but the new one (${newSizeBytes} bytes) is not a whole number of the package's ${blockSizeBytes}-byte blocks, so it has no sparse form: written raw (--output-format raw says so and silences this)`,
  });
  return 'raw';
}

/** What a completed output is: its sha256 and, for a file hashed through its handle, the inode hashed. */
export interface FinishedImage {
  readonly sha256: Buffer;
  readonly fileId?: FileId;
}

/** A destination the applier fills op by op, in op order. */
export interface OutputImage {
  /** Writes the bytes of `dst` (whole blocks). */
  write(dst: readonly Extent[], data: Buffer): Promise<void>;
  /**
   * Reads the blocks of `extents`, concatenated, into `into` (its length their total), as written
   * so far; bytes past the image's end read as zeros. Outputs that can be read back while written
   * have it (raw files, staged sparse files, block devices): a DIFF op reading the target (1.6).
   */
  readBackInto?(extents: readonly Extent[], into: Buffer): Promise<void>;
  /** Writes zeros to `dst`. */
  zero(dst: readonly Extent[]): Promise<void>;
  /** Makes everything written so far durable (before a checkpoint names it). */
  sync(): Promise<void>;
  /** Completes the file and returns the sha256 of the expanded image (DONT_CARE as zeros). */
  finish(): Promise<FinishedImage>;
  /** Closes without completing (the caller deletes the file). */
  abort(): Promise<void>;
}
