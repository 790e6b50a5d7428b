// The one way input files are opened: read-only, non-blocking (so a FIFO or device named as an
// input cannot hang the open), and refused unless they are regular files.

import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ioError, OtaError } from '../errors/ota-error.js';

/** An open regular file and its size when opened. The caller closes `fh`. */
export interface OpenedFile {
  readonly fh: FileHandle;
  readonly sizeBytes: number;
}

/**
 * Opens `path` for reading only. Throws IoError (exit 8, `action` in the message) when it cannot
 * be opened or stat'ed, and `notFile(stats)` when it is not a regular file; the handle is closed then.
 */
export async function openRegularFile(
  path: string,
  action: string,
  notFile: (stats: Stats) => OtaError,
): Promise<OpenedFile> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw ioError(action, path, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notFile(st);
    return { fh, sizeBytes: st.size };
  } catch (err) {
    await fh.close().catch(() => undefined);
    if (err instanceof OtaError) throw err;
    throw ioError(action, path, err);
  }
}
