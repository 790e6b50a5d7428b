// linkTarget: where a file that is written beside its name and renamed into place must go when
// the name is a symbolic link. A rename replaces the link itself (as root, `--csv /dev/stdout`
// with stdout redirected to a file would put a regular file in /dev), so the file the link
// names is the one replaced; a link into a process's descriptors (/dev/stdout, /dev/fd/N,
// /proc/self/fd/N) names a file that process holds open, which no rename can stand in for. A link
// is followed only where the kernel itself would follow it (fs.protected_symlinks): in a sticky
// folder anyone may write (/tmp), only a link of this user or of the folder's owner, so a link
// another user planted there never points a write at a file of this user's.

import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors/ota-error.js';

/** Links followed before giving up (Linux's own limit). */
const MAX_LINK_HOPS = 40;
/** A process's descriptor through /proc: /proc/<pid|self|thread-self>[/task/<tid>]/fd/<n>. */
const PROC_FD = /^\/proc\/(self|thread-self|\d+)(?:\/task\/\d+)?\/fd\/(\d+)$/;

/** What a path written by rename stands for. */
export type LinkTarget =
  /**
   * `path` as given when it is no link (or does not exist), else the file its links lead to
   * (`throughLink`), which may not exist yet.
   */
  | { readonly kind: 'path'; readonly path: string; readonly throughLink: boolean }
  /**
   * A file a process holds open, reached through /proc: `fd` is the descriptor number when it is
   * this process's (/dev/stdout: 1), undefined when it is another process's.
   */
  | { readonly kind: 'process-file'; readonly fd: number | undefined };

/**
 * Follows `path` link by link (lstat and readlink only: nothing is opened). Throws UsageError
 * `OUTPUT_NOT_FILE` for a loop of links, and for a link the kernel would not follow (another
 * user's, in a sticky folder anyone may write).
 */
export async function linkTarget(path: string): Promise<LinkTarget> {
  let current = resolve(path);
  for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
    const folder = await realpath(dirname(current)).catch(() => dirname(current));
    const full = join(folder, basename(current));
    const fd = PROC_FD.exec(full);
    if (fd) return { kind: 'process-file', fd: ownDescriptor(fd[1]!, Number(fd[2])) };
    const st = await lstat(full).catch(() => undefined);
    if (!st?.isSymbolicLink()) return { kind: 'path', path: hops === 0 ? path : full, throughLink: hops > 0 };
    await refuseForeignLink(path, full, st.uid, folder);
    current = resolve(folder, await readlink(full));
  }
  throw new UsageError('OUTPUT_NOT_FILE', `${path} is a loop of symbolic links; nothing was written`);
}

/** Refuses the link at `linkPath` (owned by `linkUid`) where fs.protected_symlinks would not follow it. */
async function refuseForeignLink(path: string, linkPath: string, linkUid: number, folder: string): Promise<void> {
  const euid = process.geteuid?.();
  if (euid === undefined || linkUid === euid) return;
  const folderSt = await stat(folder).catch(() => undefined);
  const sharedSticky = folderSt !== undefined && (folderSt.mode & 0o1002) === 0o1002;
  if (sharedSticky && folderSt.uid !== linkUid)
    throw new UsageError(
      'OUTPUT_NOT_FILE',
      `${path}: ${linkPath} is a symbolic link of another user in the shared folder ${folder}, which is not followed; nothing was written`,
    );
}

/** The descriptor number when `who` (self, thread-self or a pid) is this process; else undefined. */
function ownDescriptor(who: string, fd: number): number | undefined {
  return who === 'self' || who === 'thread-self' || Number(who) === process.pid ? fd : undefined;
}
