// FileRangeSource: a ByteRangeSource over a local package file (positional reads on one handle).

import { readdirSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { IoError, PackageFormatError } from '../errors/ota-error.js';
import { openRegularFile } from '../image/open-read-only.js';
import { readFull } from '../image/read-full.js';
import type { ByteRangeSource } from './byte-range-source.js';

/** A package file opened read-only. */
export class FileRangeSource implements ByteRangeSource {
  readonly refetchable = false;

  private constructor(
    readonly name: string,
    private readonly fh: FileHandle,
    readonly sizeBytes: number,
  ) {}

  /**
   * Opens `path` read-only and non-blocking, regular files only: a FIFO or device named as the
   * package is refused (PKG_NOT_FILE) instead of hanging the open; a folder stays IO_EISDIR
   * (folderNamedAsPackage).
   */
  static async open(path: string): Promise<FileRangeSource> {
    const { fh, sizeBytes } = await openRegularFile(path, 'open package', (stats) =>
      stats.isDirectory()
        ? folderNamedAsPackage(path)
        : new PackageFormatError(
            'PKG_NOT_FILE',
            `${path} is not a regular file (a FIFO or device); a package is a file`,
          ),
    );
    return new FileRangeSource(path, fh, sizeBytes);
  }

  /** Reads exactly `lengthBytes` at `offsetBytes`; PKG_TRUNCATED if the file ends first. */
  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    const buf = Buffer.alloc(lengthBytes);
    await readFull(this.fh, buf, offsetBytes, {
      action: 'read package',
      path: this.name,
      onShort: (endedAtBytes) =>
        new PackageFormatError('PKG_TRUNCATED', `${this.name} ended at ${endedAtBytes} bytes, inside a section`),
    });
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/** Packages a folder's message names at most (a build writes one per target). */
const MAX_NAMED_PACKAGES = 3;

/**
 * IO_EISDIR for a folder given as the package, naming the .otapkg files it holds: the usual
 * slip is passing `build -o`'s folder instead of a package in it.
 */
function folderNamedAsPackage(path: string): IoError {
  let held: string[] = [];
  try {
    held = readdirSync(path)
      .filter((name) => name.endsWith('.otapkg'))
      .sort();
  } catch {
    // unreadable: the message says only what it is
  }
  const named = held.slice(0, MAX_NAMED_PACKAGES).join(', ') + (held.length > MAX_NAMED_PACKAGES ? ', …' : '');
  const hint = held.length > 0 ? `pass a package in it (${named})` : 'a package is a file';
  return new IoError('IO_EISDIR', `cannot open package ${path}: it is a folder; ${hint}`);
}
