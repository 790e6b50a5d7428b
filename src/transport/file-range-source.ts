// FileRangeSource: a ByteRangeSource over a local package file (positional reads on one handle).

import { open, type FileHandle } from 'node:fs/promises';
import { PackageFormatError, ioError } from '../errors/ota-error.js';
import type { ByteRangeSource } from './byte-range-source.js';

/** A package file opened read-only. */
export class FileRangeSource implements ByteRangeSource {
  readonly refetchable = false;

  private constructor(
    readonly name: string,
    private readonly fh: FileHandle,
    readonly sizeBytes: number,
  ) {}

  /** Opens `path` read-only; I/O failures become IO_ERROR. */
  static async open(path: string): Promise<FileRangeSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw ioError('open package', path, err);
    }
    try {
      return new FileRangeSource(path, fh, (await fh.stat()).size);
    } catch (err) {
      await fh.close();
      throw ioError('open package', path, err);
    }
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    const buf = Buffer.alloc(lengthBytes);
    let done = 0;
    while (done < lengthBytes) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.fh.read(buf, done, lengthBytes - done, offsetBytes + done));
      } catch (err) {
        throw ioError('read package', this.name, err);
      }
      if (bytesRead === 0)
        throw new PackageFormatError(
          'PKG_TRUNCATED',
          `${this.name} ended at ${offsetBytes + done} bytes, inside a section`,
        );
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
