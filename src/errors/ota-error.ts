// Typed errors with stable string codes and documented exit codes (README "Exit codes").
// Only cli/main.ts turns these into process exits; the library throws them. Codes and their exit
// codes are listed once, in error-codes.ts.

import { ERROR_CODES, ExitCode, exitCodeOf, type CodeWithExit, type ErrorCode } from './error-codes.js';
import { printable } from './printable.js';

export { ExitCode } from './error-codes.js';
export type { ErrorCode } from './error-codes.js';

/**
 * Base class of every error the library raises on purpose. Messages are one line, with control
 * characters escaped (they may quote package or layout strings; see printable.ts).
 */
export class OtaError extends Error {
  /** Stable machine-readable code such as `PKG_BAD_MAGIC` (a key of ERROR_CODES). */
  readonly code: ErrorCode;
  /** Process exit code for this failure class, from ERROR_CODES. */
  readonly exitCode: ExitCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(printable(message.replace(/\s*\n\s*/g, ' ')), options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCodeOf(code) ?? ExitCode.internal;
  }
}

/** A bug caught by the library's own checks, such as the build's self-check (exit 1). */
export class InternalError extends OtaError {
  declare readonly code: CodeWithExit<typeof ExitCode.internal>;

  constructor(code: CodeWithExit<typeof ExitCode.internal>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Wrong or missing command-line options (exit 2). */
export class UsageError extends OtaError {
  declare readonly code: CodeWithExit<typeof ExitCode.usage>;

  constructor(code: CodeWithExit<typeof ExitCode.usage>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** An input image (old or new) is unreadable, truncated or malformed (exit 3). */
export class ImageError extends OtaError {
  declare readonly code: CodeWithExit<typeof ExitCode.badImage>;

  constructor(code: CodeWithExit<typeof ExitCode.badImage>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A package is structurally invalid: bad magic, lengths, schema, blob data (exit 4). */
export class PackageFormatError extends OtaError {
  declare readonly code: CodeWithExit<typeof ExitCode.badPackage>;

  constructor(code: CodeWithExit<typeof ExitCode.badPackage>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A hash or identity check failed: wrong base image, wrong target, corrupted output (exit 5). */
export class VerificationError extends OtaError {
  declare readonly code: CodeWithExit<typeof ExitCode.mismatch>;

  constructor(code: CodeWithExit<typeof ExitCode.mismatch>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A signature is missing, malformed, made by another key, or does not verify (exit 6). */
export class SignatureError extends OtaError {
  declare readonly code: CodeWithExit<typeof ExitCode.signature>;

  constructor(code: CodeWithExit<typeof ExitCode.signature>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A valid request this version cannot serve: newer format, unknown codec (exit 7). */
export class UnsupportedError extends OtaError {
  declare readonly code: CodeWithExit<typeof ExitCode.unsupported>;

  constructor(code: CodeWithExit<typeof ExitCode.unsupported>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A file-system failure: cannot read, write, rename, no space (exit 8). */
export class IoError extends OtaError {
  declare readonly code: CodeWithExit<typeof ExitCode.io>;

  constructor(code: CodeWithExit<typeof ExitCode.io>, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Wraps a Node file-system error as an IoError naming the path and the action. */
export function ioError(action: string, path: string, cause: unknown): IoError {
  const sys = cause as NodeJS.ErrnoException;
  const known = `IO_${String(sys?.code ?? 'FAILED').toUpperCase()}`;
  const code = exitCodeOf(known) === ExitCode.io ? (known as CodeWithExit<typeof ExitCode.io>) : 'IO_FAILED';
  // A listed errno in words, with its name for searching: "no such file or folder (ENOENT)".
  const reason =
    code !== 'IO_FAILED'
      ? `${ERROR_CODES[code].summary} (${sys.code})`
      : sys?.code
        ? `${sys.code}`
        : String((cause as Error)?.message ?? cause);
  return new IoError(code, `cannot ${action} ${path}: ${reason}`, { cause });
}

/** Formats up to `max` bytes as spaced hex, for "expected …, got …" messages. */
export function hexBytes(bytes: Uint8Array, max = 8): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > max ? `${shown} …` : shown;
}
