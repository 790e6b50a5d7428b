// The stash folder of an in-place apply (`--stash-dir`): one file per live stash, `stash-<id>`.
// Same file-safety rules as the checkpoint (owned-file.ts): a stash is written to an exclusively
// created temp with an unpredictable name, fsynced, renamed into place and the folder fsynced, so
// a named stash file is always complete and durable before the blocks it saves are overwritten;
// it is read back with O_NOFOLLOW, checked with fstat and hashed before use. The folder must be
// ours (a real folder, not a symlink, our uid); it is created when missing and removed at the end.
// Its stash files are known as this applier's by a marker (`.ota-stash-of`, naming the package)
// written before the first of them: a folder already holding stash-named files without this
// package's marker (a user's own files, another package's unfinished apply) is refused, never
// written over or removed.

import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError, ioError } from '../errors/ota-error.js';
import { readUpTo } from '../image/read-full.js';
import { openOwnedFile } from './owned-file.js';

const STASH_NAME = /^stash-[1-9][0-9]{0,9}$/;
const TEMP_NAME = /^stash-[1-9][0-9]{0,9}\.tmp-[0-9a-f]{16}$/;
/** The marker naming the package whose stash files the folder holds. */
const MARKER_NAME = '.ota-stash-of';
const MARKER_TEMP = /^\.ota-stash-of\.tmp-[0-9a-f]{16}$/;

/** The stash folder of one in-place apply. */
export class StashStore {
  /** Bytes written to stash files by this run (for reports). */
  bytesWritten = 0;
  /** Stash files written by this run. */
  filesWritten = 0;

  private constructor(readonly folder: string) {}

  /**
   * Opens (creating when missing, mode 0700) the folder `dir` for the package `owner` names (its
   * metadata digest); refuses (`BAD_STASH_DIR`, exit 2) a symlink, a non-folder, a folder of
   * another user, and one holding stash-named files that are not this package's (no marker, or
   * another package's). Removes temps a killed run left, then marks the folder as this package's.
   */
  static async open(dir: string, owner: string): Promise<StashStore> {
    await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw ioError('create stash folder', dir, err);
    });
    const st = await lstat(dir).catch((err) => {
      throw ioError('look at stash folder', dir, err);
    });
    const uid = process.getuid?.();
    if (st.isSymbolicLink() || !st.isDirectory())
      throw new UsageError(
        'BAD_STASH_DIR',
        `--stash-dir ${dir} is ${st.isSymbolicLink() ? 'a symlink' : 'not a folder'}; nothing was written`,
      );
    if (uid !== undefined && st.uid !== uid)
      throw new UsageError(
        'BAD_STASH_DIR',
        `--stash-dir ${dir} belongs to uid ${st.uid}, not to us (${uid}); nothing was written`,
      );
    const store = new StashStore(dir);
    const names = await store.names();
    const marked = await store.markerOwner();
    const stashes = names.filter((n) => STASH_NAME.test(n) || TEMP_NAME.test(n));
    if (marked !== owner && stashes.length > 0)
      throw new UsageError(
        'BAD_STASH_DIR',
        `--stash-dir ${dir} holds ${stashes.sort()[0]}${stashes.length > 1 ? ` and ${stashes.length - 1} more stash-named files` : ''}, ${
          marked === undefined
            ? 'which this applier did not write; nothing was written: give an empty or new folder'
            : `left by an unfinished in-place apply of another package (metadata sha256 ${marked.slice(0, 16)}…); nothing was written. If that apply was rewriting this image, they hold its only copy of the blocks it overwrote: keep the folder, and finish with that package and this folder; else give an empty or new folder`
        }`,
      );
    for (const name of names)
      if (TEMP_NAME.test(name) || MARKER_TEMP.test(name)) await unlink(join(dir, name)).catch(() => undefined);
    if (marked !== owner) await store.writeMarker(owner);
    return store;
  }

  /** The package the marker names, or undefined when there is none (or it is not ours). */
  private async markerOwner(): Promise<string | undefined> {
    const opened = await openOwnedFile(join(this.folder, MARKER_NAME), 'read');
    if ('problem' in opened) return undefined;
    try {
      const data = Buffer.alloc(Math.min(opened.st.size, 256));
      const n = await readUpTo(opened.fh, data, 0, {
        action: 'read stash marker',
        path: join(this.folder, MARKER_NAME),
      });
      return data.subarray(0, n).toString('latin1').trim();
    } finally {
      await opened.fh.close();
    }
  }

  /** Writes the marker durably (writeDurably), before any stash file. */
  private async writeMarker(owner: string): Promise<void> {
    await this.writeDurably(join(this.folder, MARKER_NAME), Buffer.from(`${owner}\n`), 'write stash marker');
  }

  private async names(): Promise<string[]> {
    return readdir(this.folder).catch((err) => {
      throw ioError('list stash folder', this.folder, err);
    });
  }

  /** Where stash `id` is kept. */
  pathOf(id: number): string {
    return join(this.folder, `stash-${id}`);
  }

  /** The stash's bytes when its file exists, is ours, is `sizeBytes` long and hashes to `sha256`; else undefined. */
  async read(id: number, sizeBytes: number, sha256: Uint8Array): Promise<Buffer | undefined> {
    const path = this.pathOf(id);
    const opened = await openOwnedFile(path, 'read');
    if ('problem' in opened) return undefined;
    try {
      if (opened.st.size !== sizeBytes) return undefined;
      const data = Buffer.alloc(sizeBytes);
      if ((await readUpTo(opened.fh, data, 0, { action: 'read stash', path })) !== sizeBytes) return undefined;
      return createHash('sha256').update(data).digest().equals(Buffer.from(sha256)) ? data : undefined;
    } finally {
      await opened.fh.close();
    }
  }

  /** Writes stash `id` durably (writeDurably). */
  async write(id: number, data: Buffer): Promise<void> {
    await this.writeDurably(this.pathOf(id), data, 'write stash');
    this.bytesWritten += data.length;
    this.filesWritten++;
  }

  /** Removes stash `id` (unlink never follows a link). */
  async remove(id: number): Promise<void> {
    await unlink(this.pathOf(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw ioError('remove stash', this.pathOf(id), err);
    });
  }

  /**
   * Removes every stash file and temp this applier names, then the marker (other files are left
   * alone; the folder was refused at open when stash-named files in it were not ours).
   */
  async removeStashes(): Promise<void> {
    for (const name of await this.names())
      if (STASH_NAME.test(name) || TEMP_NAME.test(name)) await unlink(join(this.folder, name)).catch(() => undefined);
    await unlink(join(this.folder, MARKER_NAME)).catch(() => undefined);
  }

  /** Removes the folder if it is empty; false when something else is left in it. */
  async removeFolder(): Promise<boolean> {
    return rmdir(this.folder).then(
      () => true,
      () => false,
    );
  }

  /** Writes `path` durably: a temp (O_EXCL, unpredictable name), fsync, rename, fsync of the folder. */
  private async writeDurably(path: string, data: Buffer, action: string): Promise<void> {
    const tmp = `${path}.tmp-${randomBytes(8).toString('hex')}`;
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      await this.syncFolder();
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw ioError(action, path, err);
    }
  }

  private async syncFolder(): Promise<void> {
    const dir = await open(this.folder, 'r');
    await dir.sync().finally(() => dir.close());
  }
}
