// linkTarget: where a file that is written beside its name and renamed into place must go when
// the name is a symbolic link. A rename replaces the link itself (as root, `--csv /dev/stdout`
// with stdout redirected to a file would put a regular file in /dev), so the file the link
// names is the one replaced; and a link into /proc (/dev/stdout, /dev/fd/N, /proc/self/fd/N)
// names a file a process holds open, which no rename can stand in for.

import { lstat, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors/ota-error.js';

/** Links followed before giving up (Linux's own limit). */
const MAX_LINK_HOPS = 40;

/** What a path written by rename stands for. */
export type LinkTarget =
  /** `path` as given when it is no link (or does not exist), else the file its links lead to. */
  | { readonly kind: 'path'; readonly path: string }
  /**
   * A file a process holds open, reached through /proc: `fd` is the descriptor number when it is
   * this process's (/dev/stdout: 1), undefined when it is another process's.
   */
  | { readonly kind: 'process-file'; readonly fd: number | undefined };

/**
 * Follows `path` link by link (lstat and readlink only: nothing is opened). Throws UsageError
 * `OUTPUT_NOT_FILE` for a loop of links.
 */
export async function linkTarget(path: string): Promise<LinkTarget> {
  let current = resolve(path);
  for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
    const folder = await realpath(dirname(current)).catch(() => dirname(current));
    const full = join(folder, basename(current));
    if (full.startsWith('/proc/')) return { kind: 'process-file', fd: ownDescriptor(full) };
    const st = await lstat(full).catch(() => undefined);
    if (!st?.isSymbolicLink()) return { kind: 'path', path: hops === 0 ? path : full };
    current = resolve(folder, await readlink(full));
  }
  throw new UsageError('OUTPUT_NOT_FILE', `${path} is a loop of symbolic links; nothing was written`);
}

/** N of /proc/self/fd/N or /proc/<this process's id>/fd/N; undefined for any other /proc path. */
function ownDescriptor(procPath: string): number | undefined {
  const m = /^\/proc\/(self|thread-self|\d+)\/fd\/(\d+)$/.exec(procPath);
  if (!m || (m[1] !== 'self' && m[1] !== 'thread-self' && Number(m[1]) !== process.pid)) return undefined;
  return Number(m[2]);
}
