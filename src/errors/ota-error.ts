// Typed errors with stable string codes and documented exit codes (README "Exit codes").
// Only cli/main.ts turns these into process exits; the library throws them.

import { printable } from './printable.js';

/** Process exit codes, one per failure class. Stable: scripts depend on them. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  badImage: 3,
  badPackage: 4,
  mismatch: 5,
  signature: 6,
  unsupported: 7,
  io: 8,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Base class of every error the library raises on purpose. Messages are one line, with control
 * characters escaped (they may quote package or layout strings; see printable.ts).
 */
export class OtaError extends Error {
  /** Stable machine-readable code such as `PKG_BAD_MAGIC`. */
  readonly code: string;
  /** Process exit code for this failure class. */
  readonly exitCode: ExitCode;

  constructor(code: string, exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(printable(message.replace(/\s*\n\s*/g, ' ')), options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Wrong or missing command-line options (exit 2). */
export class UsageError extends OtaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, ExitCode.usage, message, options);
  }
}

/** An input image (old or new) is unreadable, truncated or malformed (exit 3). */
export class ImageError extends OtaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, ExitCode.badImage, message, options);
  }
}

/** A package is structurally invalid: bad magic, lengths, schema, blob data (exit 4). */
export class PackageFormatError extends OtaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, ExitCode.badPackage, message, options);
  }
}

/** A hash or identity check failed: wrong base image, wrong target, corrupted output (exit 5). */
export class VerificationError extends OtaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, ExitCode.mismatch, message, options);
  }
}

/** A signature is missing, malformed, made by another key, or does not verify (exit 6). */
export class SignatureError extends OtaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, ExitCode.signature, message, options);
  }
}

/** A valid request this version cannot serve: newer format, unknown codec (exit 7). */
export class UnsupportedError extends OtaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, ExitCode.unsupported, message, options);
  }
}

/** A file-system failure: cannot read, write, rename, no space (exit 8). */
export class IoError extends OtaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, ExitCode.io, message, options);
  }
}

/** Wraps a Node file-system error as an IoError naming the path and the action. */
export function ioError(action: string, path: string, cause: unknown): IoError {
  const sys = cause as NodeJS.ErrnoException;
  const reason = sys?.code ? `${sys.code}` : String((cause as Error)?.message ?? cause);
  return new IoError(`IO_${(sys?.code ?? 'FAILED').toUpperCase()}`, `cannot ${action} ${path}: ${reason}`, { cause });
}

/** Formats up to `max` bytes as spaced hex, for "expected …, got …" messages. */
export function hexBytes(bytes: Uint8Array, max = 8): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > max ? `${shown} …` : shown;
}
