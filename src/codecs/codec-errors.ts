// The typed errors codecs and differs raise: a bad level at encode time (usage, exit 2) and a
// corrupt, truncated or oversized blob at decode time (package format, exit 4). Nothing here
// decodes; it only names the failure in one line.

import { constants as bufferConstants } from 'node:buffer';
import { PackageFormatError, UsageError } from '../errors/ota-error.js';

/** Error code of every decode or patch failure (corrupt data, wrong size, over the cap). */
export const BLOB_DECODE_FAILED = 'BLOB_DECODE_FAILED';

/** Throws UsageError `BAD_LEVEL` unless `level` is an integer in `[minLevel, maxLevel]`. */
export function assertLevel(codecName: string, level: number, minLevel: number, maxLevel: number): void {
  if (!Number.isInteger(level) || level < minLevel || level > maxLevel) {
    throw new UsageError(
      'BAD_LEVEL',
      `${codecName} level must be an integer ${minLevel}..${maxLevel}, got ${String(level)}`,
    );
  }
}

/** Makes the PackageFormatError (`BLOB_DECODE_FAILED`) a decoder or patcher raises. */
export function blobDecodeError(what: string, detail: string, cause?: unknown): PackageFormatError {
  return new PackageFormatError(BLOB_DECODE_FAILED, `${what}: ${detail}`, cause === undefined ? undefined : { cause });
}

/**
 * Throws PackageFormatError unless `expectedSizeBytes` is a whole number of bytes this process
 * can hold in one Buffer. Called before any allocation, since the size comes from the package.
 */
export function assertExpectedSize(what: string, expectedSizeBytes: number): void {
  if (
    !Number.isSafeInteger(expectedSizeBytes) ||
    expectedSizeBytes < 0 ||
    expectedSizeBytes > bufferConstants.MAX_LENGTH
  ) {
    throw blobDecodeError(what, `declared size ${String(expectedSizeBytes)} is not a valid byte count`);
  }
}

/** One-line text of anything thrown by a native binding (Errors, plain strings, codes). */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  if (typeof cause === 'string') return cause;
  return String(cause);
}
