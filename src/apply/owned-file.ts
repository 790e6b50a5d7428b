// Reopening a file the applier made earlier (a partial image, a staged partition, the checkpoint,
// a lock) on a folder others may write to: opened with O_NOFOLLOW (a planted symlink fails to
// open) and checked with fstat on the open handle BEFORE any read is trusted or any write or
// truncate happens — a regular file, one link, our uid, and none of the inputs' (dev, ino).

import { constants, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';

/** A file identity: what fstat says about an inode. */
export interface FileId {
  readonly dev: number;
  readonly ino: number;
}

/** The (dev, ino) of each existing path (missing ones are skipped); used to list files never to write. */
export async function fileIdsOf(paths: readonly string[]): Promise<FileId[]> {
  const ids: FileId[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (st) ids.push({ dev: st.dev, ino: st.ino });
  }
  return ids;
}

/** Why `st` is not a file this process made and alone holds, or undefined when it is. */
export function ownedFileProblem(st: Stats, forbidden: readonly FileId[] = [], maxLinks = 1): string | undefined {
  if (!st.isFile()) return 'it is not a regular file';
  if (st.nlink < 1 || st.nlink > maxLinks) return `it has ${st.nlink} links (a hard link to another file)`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `it is owned by uid ${st.uid}, not by us (${uid})`;
  if (forbidden.some((f) => f.dev === st.dev && f.ino === st.ino)) return 'it is one of the input images';
  return undefined;
}

/**
 * Opens an existing file with O_NOFOLLOW (never O_CREAT, never O_TRUNC) and checks it with fstat.
 * Returns the open handle, or why the file must not be used (the handle is then closed and
 * nothing was read from or written to the file). `maxLinks` above 1 is for files only read.
 */
export async function openOwnedFile(
  path: string,
  mode: 'read' | 'write',
  forbidden: readonly FileId[] = [],
  maxLinks = 1,
): Promise<{ fh: FileHandle; st: Stats } | { problem: string }> {
  const access = mode === 'write' ? constants.O_RDWR : constants.O_RDONLY;
  let fh: FileHandle;
  try {
    fh = await open(path, access | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      problem:
        code === 'ELOOP' ? 'it is a symlink' : code === 'ENOENT' ? 'it is missing' : `it cannot be opened (${code})`,
    };
  }
  const st = await fh.stat().catch(() => undefined);
  const problem = st ? ownedFileProblem(st, forbidden, maxLinks) : 'fstat failed';
  if (problem || !st) {
    await fh.close().catch(() => undefined);
    return { problem: problem ?? 'fstat failed' };
  }
  return { fh, st };
}
