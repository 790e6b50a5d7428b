// Positional reads that loop until the buffer is full: the one place that handles a short read
// (a read may return fewer bytes than asked, and 0 at end of file). Callers keep their own error
// codes by passing the error a short read becomes; other read failures become IoError.

import { ioError, type OtaError } from '../errors/ota-error.js';
import type { PositionalReader } from './file-range.js';

/** What a read is for, to name it in errors: `cannot <action> <path>: …`. */
export interface ReadPurpose {
  /** Verb phrase for IoError messages, e.g. `read image`. */
  readonly action: string;
  /** The file being read, as the user named it. */
  readonly path: string;
}

/** A read that must fill its buffer; `onShort` builds the error for a file that ended first. */
export interface FullReadPurpose extends ReadPurpose {
  /** The caller's error for end of file at byte `endedAtBytes` (file position) before `into` was full. */
  readonly onShort: (endedAtBytes: number) => OtaError;
}

/**
 * Reads into `into` from file position `positionBytes` until `into` is full or the file ends.
 * Returns the number of bytes read (< into.length only at end of file). Memory: none beyond `into`.
 */
export async function readUpTo(
  reader: PositionalReader,
  into: Buffer,
  positionBytes: number,
  purpose: ReadPurpose,
): Promise<number> {
  let done = 0;
  while (done < into.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await reader.read(into, done, into.length - done, positionBytes + done));
    } catch (err) {
      throw ioError(purpose.action, purpose.path, err);
    }
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Reads exactly `into.length` bytes at `positionBytes`; throws `purpose.onShort(…)` if the file ends first. */
export async function readFull(
  reader: PositionalReader,
  into: Buffer,
  positionBytes: number,
  purpose: FullReadPurpose,
): Promise<void> {
  const got = await readUpTo(reader, into, positionBytes, purpose);
  if (got < into.length) throw purpose.onShort(positionBytes + got);
}
