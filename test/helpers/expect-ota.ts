// Asserting a typed refusal: `f` throws an OtaError with this code and exit code, a one-line
// message, and (when given) a message matching `message`.

import { expect } from 'vitest';
import { OtaError } from '../../src/errors/ota-error.js';

/** Runs `f` and asserts the OtaError it throws. */
export function expectOta(f: () => unknown, code: string, exitCode: number, message?: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(OtaError);
  expect((caught as OtaError).code).toBe(code);
  expect((caught as OtaError).exitCode).toBe(exitCode);
  expect((caught as OtaError).message).not.toContain('\n');
  if (message) expect((caught as OtaError).message).toMatch(message);
}
