// Detects which release layout a path holds and opens it with the matching reader. A folder is
// a release (rawprogram XML, MediaTek scatter, one PAC, or <partition>.img files); a file is a
// release when it is a layout file itself (rawprogram*.xml, *_Android_scatter.txt, *.pac).

import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ImageError, ioError } from '../errors/ota-error.js';
import { openGenericRelease } from './generic-folder.js';
import type { ReleaseLayoutKind, ReleaseSource } from './release-source.js';

/** A release reader, registered by the layout it reads. */
interface LayoutReader {
  readonly kind: ReleaseLayoutKind;
  /** Matches a layout file's name. */
  readonly fileName: RegExp;
  /** A folder holding exactly one matching file is this layout (rawprogram: one or more). */
  readonly manyInFolder: boolean;
  open(path: string): Promise<ReleaseSource>;
}

/**
 * The vendor layouts, in detection order. Each reader (and its XML parser) loads when a release of
 * its layout is opened, so building from single images does not pay for them at startup.
 */
const READERS: readonly LayoutReader[] = [
  {
    kind: 'qualcomm-rawprogram',
    fileName: /^rawprogram.*\.xml$/i,
    manyInFolder: true,
    open: async (path) => (await import('./qualcomm-rawprogram.js')).openQualcommRelease(path),
  },
  {
    kind: 'mediatek-scatter',
    fileName: /_Android_scatter\.txt$/i,
    manyInFolder: false,
    open: async (path) => (await import('./mediatek-scatter.js')).openMediatekRelease(path),
  },
  {
    kind: 'unisoc-pac',
    fileName: /\.pac$/i,
    manyInFolder: false,
    open: async (path) => (await import('./unisoc-pac.js')).openUnisocPac(path),
  },
];

/** The layout of `path`, or undefined when it is a single image file. Throws IoError when missing. */
export async function detectRelease(path: string): Promise<ReleaseLayoutKind | undefined> {
  const st = await stat(path).catch((err) => {
    throw ioError('open', path, err);
  });
  if (!st.isDirectory()) return READERS.find((r) => r.fileName.test(basename(path)))?.kind;
  const names = await readdir(path).catch((err) => {
    throw ioError('read release folder', path, err);
  });
  for (const r of READERS) {
    const matches = names.filter((n) => r.fileName.test(n));
    if (matches.length > 1 && !r.manyInFolder) {
      throw new ImageError(
        'RELEASE_AMBIGUOUS',
        `${path} holds ${matches.length} ${r.kind} layout files (${matches.join(', ')}); pass the one to use`,
      );
    }
    if (matches.length > 0) return r.kind;
  }
  if (!names.some((n) => n.endsWith('.img')))
    throw new ImageError(
      'RELEASE_EMPTY',
      `${path} holds no <partition>.img files and no rawprogram, scatter or PAC layout`,
    );
  return 'generic-folder';
}

/** The folder a release's files live in: the path itself, or the layout file's folder. */
export async function releaseFolder(path: string): Promise<string> {
  const st = await stat(path).catch((err) => {
    throw ioError('open', path, err);
  });
  return st.isDirectory() ? path : dirname(path);
}

/** Opens the release at `path` (folder or layout file). */
export async function openRelease(path: string): Promise<ReleaseSource> {
  const kind = await detectRelease(path);
  if (kind === undefined)
    throw new ImageError(
      'NOT_A_RELEASE',
      `${path} is neither a release folder nor a rawprogram, scatter or PAC layout file`,
    );
  if (kind === 'generic-folder') return openGenericRelease(path);
  const reader = READERS.find((r) => r.kind === kind)!;
  const st = await stat(path);
  if (!st.isDirectory() || reader.manyInFolder) return reader.open(path);
  const file = (await readdir(path)).find((n) => reader.fileName.test(n))!;
  return reader.open(join(path, file));
}
