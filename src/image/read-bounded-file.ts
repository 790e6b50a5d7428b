// Reads a small input file (device state, layout XML/scatter, target profile, key)
// whole, with a hard cap: opened by openRegularFile (read-only, non-blocking, regular files only,
// so /dev/zero or a FIFO is refused instead of growing memory or hanging), size checked by fstat
// before reading, and the read itself stopped one byte past the cap for files growing underneath.
// A folder is the same I/O error (IO_EISDIR, exit 8) for every kind of small input.

import type { Stats } from 'node:fs';
import type { OtaError } from '../errors/ota-error.js';
import { ioError } from '../errors/ota-error.js';
import { openRegularFile } from './open-read-only.js';

/** How to read one kind of small input and how to refuse it. */
export interface BoundedFileOptions {
  /** Largest accepted size; a larger file is refused before (or while) reading. */
  readonly maxBytes: number;
  /** Verb phrase for I/O errors (`read device state` → "cannot read device state <path>: no such file or folder (ENOENT)"). */
  readonly action: string;
  /** The typed error for a path that is neither a regular file nor a folder (FIFO, device, socket). */
  readonly notFile: (stats: Stats) => OtaError;
  /** The typed error for a file over `maxBytes`; `sizeBytes` is the size seen (at least maxBytes + 1). */
  readonly tooLarge: (sizeBytes: number) => OtaError;
}

/**
 * Reads `path` whole into a Buffer of at most `maxBytes`. Memory: at most about 2 × (maxBytes + 1)
 * bytes while a growing file is caught. Throws IO_EISDIR for a folder, `notFile()`, `tooLarge(size)`, or IoError (exit 8) naming `action` and the path.
 */
export async function readBoundedFile(path: string, options: BoundedFileOptions): Promise<Buffer> {
  const notFile = (stats: Stats): OtaError =>
    stats.isDirectory()
      ? ioError(options.action, path, Object.assign(new Error('EISDIR'), { code: 'EISDIR' }))
      : options.notFile(stats);
  const { fh, sizeBytes } = await openRegularFile(path, options.action, notFile);
  try {
    if (sizeBytes > options.maxBytes) throw options.tooLarge(sizeBytes);
    // One byte of headroom tells "exactly at the cap" from "grew past it since fstat".
    let buf = Buffer.alloc(sizeBytes + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) return buf.subarray(0, filled);
      filled += bytesRead;
      if (filled > options.maxBytes) throw options.tooLarge(filled);
      if (filled === buf.length) {
        const grown = Buffer.alloc(Math.min(buf.length * 2, options.maxBytes + 1));
        buf.copy(grown, 0, 0, filled);
        buf = grown;
      }
    }
  } catch (err) {
    if ((err as { exitCode?: number }).exitCode) throw err;
    throw ioError(options.action, path, err);
  } finally {
    await fh.close().catch(() => undefined);
  }
}
