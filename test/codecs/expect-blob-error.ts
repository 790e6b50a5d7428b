// Assertion shared by the codec and differ suites: a promise rejects with the typed decode error.

import { expect } from 'vitest';
import { PackageFormatError } from '../../src/errors/ota-error.js';

/** Awaits `promise` and returns the PackageFormatError (exit 4, BLOB_DECODE_FAILED) it rejects with. */
export async function expectBlobError(promise: Promise<unknown>): Promise<PackageFormatError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PackageFormatError);
  const typed = error as PackageFormatError;
  expect(typed.exitCode).toBe(4);
  expect(typed.code).toBe('BLOB_DECODE_FAILED');
  expect(typed.message).not.toContain('\n');
  return typed;
}
