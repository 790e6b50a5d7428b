// What kind of thing an output path names, decided with lstat/stat only (never open: opening a
// FIFO can block). A missing path or a regular file is written beside and renamed; a block device
// is written in place; a folder receives a release; anything else (character device, FIFO, socket,
// dangling symlink, or a symlink to one of these) is refused before the applier does any work.

import { lstat, stat } from 'node:fs/promises';
import { linkTarget } from '../image/link-target.js';
import type { Stats } from 'node:fs';
import { UsageError } from '../errors/ota-error.js';
import type { OutputKind } from './apply-result.js';

/** Where one partition's image goes. */
export interface OutputDestination {
  readonly kind: OutputKind;
  readonly path: string;
}

/** The type of a node as people say it, for refusals. */
function typeName(st: Stats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  if (st.isBlockDevice()) return 'a block device';
  return st.isFile() ? 'a regular file' : 'an unknown kind of node';
}

/** What an output path names: nothing yet, a regular file, a block device, or a folder (symlinks followed). */
export type OutputNode = 'missing' | 'file' | 'block-device' | 'folder';

/**
 * Looks at `path` with lstat/stat only. Refuses, with `OUTPUT_NOT_FILE` (exit 2), a character
 * device, FIFO, socket, dangling symlink or a symlink to one of these: no applier writes there.
 */
export async function outputNode(path: string): Promise<OutputNode> {
  const link = await lstat(path).catch(() => undefined);
  if (!link) return 'missing';
  const st = link.isSymbolicLink() ? await stat(path).catch(() => undefined) : link;
  if (!st) throw new UsageError('OUTPUT_NOT_FILE', `output ${path} is a dangling symlink; nothing was written`);
  if (st.isFile()) return 'file';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isDirectory()) return 'folder';
  const via = link.isSymbolicLink() ? 'a symlink to ' : '';
  throw new UsageError(
    'OUTPUT_NOT_FILE',
    `output ${path} is ${via}${typeName(st)}; apply writes only a regular file, a block device or a release folder; nothing was written`,
  );
}

/**
 * The path a regular-file output at `path` is renamed to: `path`, or the file its symbolic links
 * lead to (the link stays a link). Refuses, with `OUTPUT_NOT_FILE`, a link to a file a process
 * holds open (/dev/stdout redirected to a file): a rename would replace the link, not fill that file.
 */
export async function fileOutputPath(path: string): Promise<string> {
  const target = await linkTarget(path);
  if (target.kind === 'process-file')
    throw new UsageError(
      'OUTPUT_NOT_FILE',
      `output ${path} is a file a process holds open (through /proc); apply writes a regular file, a block device or a release folder; nothing was written`,
    );
  return target.path;
}

/** The destination of a single-image apply at `path`; a folder is refused (`OUTPUT_NOT_FILE`, exit 2). */
export function imageDestination(path: string, node: OutputNode): OutputDestination {
  if (node === 'folder')
    throw new UsageError(
      'OUTPUT_NOT_FILE',
      `output ${path} is a folder; a single-image package writes a regular file or a block device`,
    );
  return { kind: node === 'block-device' ? 'block-device' : 'file', path };
}
