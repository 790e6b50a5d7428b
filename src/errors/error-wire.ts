// Carries an error across a worker-thread boundary: `toWire` flattens it to plain data (what
// postMessage can clone), `errorFromWire` rebuilds the same OtaError subclass, so `instanceof`
// and the exit code survive the trip. Anything else comes back as a plain Error.

import { exitCodeOf, ExitCode, type ErrorCode } from './error-codes.js';
import {
  ImageError,
  InternalError,
  IoError,
  OtaError,
  PackageFormatError,
  SignatureError,
  UnsupportedError,
  UsageError,
  VerificationError,
} from './ota-error.js';

/** An error as plain, structured-cloneable data. */
export interface ErrorWire {
  readonly message: string;
  /** The OtaError code; absent for any other error. */
  readonly code?: string;
  /** The original stack, for internal errors. */
  readonly stack?: string;
}

/** The OtaError subclass of each exit code (every code of one exit code shares a class). */
const CLASS_BY_EXIT = {
  [ExitCode.internal]: InternalError,
  [ExitCode.usage]: UsageError,
  [ExitCode.badImage]: ImageError,
  [ExitCode.badPackage]: PackageFormatError,
  [ExitCode.mismatch]: VerificationError,
  [ExitCode.signature]: SignatureError,
  [ExitCode.unsupported]: UnsupportedError,
  [ExitCode.io]: IoError,
} as const;

/** Flattens `err` for postMessage. */
export function toWire(err: unknown): ErrorWire {
  if (err instanceof OtaError) return { message: err.message, code: err.code };
  if (err instanceof Error) return { message: err.message, stack: err.stack };
  return { message: String(err) };
}

/** Rebuilds the error `toWire` flattened: the same OtaError subclass and code, else a plain Error. */
export function errorFromWire(wire: ErrorWire): Error {
  const exitCode = wire.code === undefined ? undefined : exitCodeOf(wire.code);
  if (exitCode === undefined || exitCode === ExitCode.ok || wire.code === 'INTERNAL') {
    const err = new Error(wire.message);
    if (wire.stack) err.stack = wire.stack;
    return err;
  }
  const ErrorClass = CLASS_BY_EXIT[exitCode] as new (code: ErrorCode, message: string) => OtaError;
  return new ErrorClass(wire.code as ErrorCode, wire.message);
}
