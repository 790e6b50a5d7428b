// BlobSpool: an append-only temp file holding every encoded blob once, shared by all targets'
// packages; each package then copies the ranges it uses. Lives in the output folder.

import { open, unlink, type FileHandle } from 'node:fs/promises';
import { removeOnInterrupt } from '../image/interrupt-cleanup.js';
import { join } from 'node:path';
import { ioError } from '../errors/ota-error.js';
import { readFull } from '../image/read-full.js';

/** Where a blob sits in the spool. */
export interface SpoolRange {
  readonly offsetBytes: number;
  readonly sizeBytes: number;
}

/** Append-only blob storage on disk. */
export class BlobSpool {
  private sizeBytes = 0;

  /** Forgets the spool's interrupt cleanup (it removes the file itself when disposed). */
  private readonly forget: () => void;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    forget: () => void,
  ) {
    this.forget = forget;
  }

  /** Creates an empty spool file in `dir`. */
  static async create(dir: string): Promise<BlobSpool> {
    const path = join(dir, `.ota-build-spool-${process.pid}-${Date.now().toString(36)}.tmp`);
    // Registered before it exists: an interrupt never finds it made but unregistered.
    const forget = removeOnInterrupt(path);
    try {
      return new BlobSpool(path, await open(path, 'wx+', 0o600), forget);
    } catch (err) {
      forget();
      throw ioError('create blob spool in', dir, err);
    }
  }

  /** Appends a blob and returns where it went. */
  async append(bytes: Uint8Array): Promise<SpoolRange> {
    const range = { offsetBytes: this.sizeBytes, sizeBytes: bytes.length };
    try {
      await this.fh.write(bytes, 0, bytes.length, this.sizeBytes);
    } catch (err) {
      throw ioError('write blob spool', this.path, err);
    }
    this.sizeBytes += bytes.length;
    return range;
  }

  /** Reads a range back. */
  async read(range: SpoolRange): Promise<Buffer> {
    const buf = Buffer.alloc(range.sizeBytes);
    await readFull(this.fh, buf, range.offsetBytes, {
      action: 'read blob spool',
      path: this.path,
      onShort: () => ioError('read blob spool', this.path, new Error('short read')),
    });
    return buf;
  }

  /** Closes and deletes the spool. */
  async dispose(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
    this.forget();
  }
}
