// Image files of folder layouts (Qualcomm rawprogram, MediaTek scatter): the path-safety rule
// (a layout may only name files inside its release folder), a cheap probe of a file's logical
// size (a sparse image's expanded size from its 28-byte header), the fits-its-partition check,
// and the opener each ReleasePartition hands out. The layouts' own parsing lives in their readers.

import { realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { ImageError, ioError } from '../errors/ota-error.js';
import type { BlockSource } from '../image/block-source.js';
import { openImage } from '../image/open-image.js';
import {
  SPARSE_FILE_HEADER_BYTES,
  damagedSparseDetail,
  decodeSparseFileHeader,
  sparseContainerOf,
  sparseFileHeaderProblem,
} from '../image/sparse-format.js';
import { openRegularFile } from '../image/open-read-only.js';

/** A file a layout entry names, resolved inside the release folder and probed. */
export interface ReleaseFile {
  /** Real path (symlinks resolved), inside the release folder. */
  readonly realPath: string;
  /** Size of the file on disk. */
  readonly fileSizeBytes: number;
  /** Size of the image it holds: the expanded size for an Android sparse image. */
  readonly imageSizeBytes: number;
  readonly sparse: boolean;
}

/**
 * Rejects names that could leave the release folder, before anything touches the disk: empty,
 * NUL, absolute (`/x`, `\x`, `C:x`) or with a `..` segment (either slash counts as a separator,
 * since layouts are often written on Windows). `entry` names the layout entry in the message.
 */
export function checkReleaseFileName(fileName: string, entry: string): void {
  const escape = (why: string): ImageError =>
    new ImageError(
      'RELEASE_PATH_ESCAPE',
      `${entry}: file name ${JSON.stringify(fileName)} ${why}; layouts may only name files inside the release folder`,
    );
  if (fileName.includes('\0')) throw escape('contains a NUL character');
  if (isAbsolute(fileName) || /^[\\/]/.test(fileName) || /^[A-Za-z]:/.test(fileName))
    throw escape('is an absolute path');
  if (fileName.split(/[\\/]/).includes('..')) throw escape('has a ".." segment');
}

/**
 * Resolves `fileName` (checked by checkReleaseFileName first) against the release folder whose
 * real path is `rootRealPath`, follows symlinks, and refuses a file that ends up outside the
 * folder (RELEASE_PATH_ESCAPE) or does not exist (RELEASE_MISSING_FILE). Then probes it.
 */
export async function resolveReleaseFile(rootRealPath: string, fileName: string, entry: string): Promise<ReleaseFile> {
  checkReleaseFileName(fileName, entry);
  const joined = join(rootRealPath, ...fileName.split(/[\\/]/).filter((s) => s !== '' && s !== '.'));
  let real: string;
  try {
    real = await realpath(joined);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new ImageError(
        'RELEASE_MISSING_FILE',
        `${entry}: file ${fileName} named by the layout is missing from the release folder ${rootRealPath}`,
      );
    throw ioError('resolve release file', joined, err);
  }
  const rel = relative(rootRealPath, real);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new ImageError(
      'RELEASE_PATH_ESCAPE',
      `${entry}: file ${fileName} resolves (through a symlink) to ${real}, outside the release folder ${rootRealPath}`,
    );
  }
  return { realPath: real, ...(await probeImageFile(real, entry)) };
}

/**
 * resolveReleaseFile, with a missing file returned as its error instead of thrown (the partition
 * is then `unavailable`: ReleasePartition); any other problem is thrown.
 */
export async function resolveReleaseFileOrMissing(
  rootRealPath: string,
  fileName: string,
  entry: string,
): Promise<ReleaseFile | ImageError> {
  try {
    return await resolveReleaseFile(rootRealPath, fileName, entry);
  } catch (err) {
    if (err instanceof ImageError && err.code === 'RELEASE_MISSING_FILE') return err;
    throw err;
  }
}

/** Size on disk and logical size of an image file, reading at most its sparse file header. */
export async function probeImageFile(path: string, entry: string): Promise<Omit<ReleaseFile, 'realPath'>> {
  const { fh, sizeBytes } = await openRegularFile(
    path,
    'open release file',
    () => new ImageError('RELEASE_BAD_LAYOUT', `${entry}: ${path} is not a regular file`),
  );
  try {
    const head = Buffer.alloc(SPARSE_FILE_HEADER_BYTES);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return probeHeader(head.subarray(0, bytesRead), sizeBytes, `${entry}: ${path}`);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * Logical size of an image from its first bytes (up to 28) and its stored size: the expanded
 * size when it starts with the sparse magic (whose header must then be valid), else its size.
 */
export function probeHeader(head: Buffer, storedSizeBytes: number, what: string): Omit<ReleaseFile, 'realPath'> {
  const container = sparseContainerOf(head);
  if (container === 'damaged-sparse')
    throw new ImageError('SPARSE_BAD_HEADER', `${what}: ${damagedSparseDetail(head)}`);
  if (container === 'raw') return { fileSizeBytes: storedSizeBytes, imageSizeBytes: storedSizeBytes, sparse: false };
  if (head.length < SPARSE_FILE_HEADER_BYTES)
    throw new ImageError(
      'SPARSE_TRUNCATED',
      `${what}: sparse file header cut short (${head.length} of ${SPARSE_FILE_HEADER_BYTES} bytes)`,
    );
  const header = decodeSparseFileHeader(head);
  const problem = sparseFileHeaderProblem(header);
  if (problem) throw new ImageError(problem.code, `${what}: ${problem.detail}`);
  return { fileSizeBytes: storedSizeBytes, imageSizeBytes: header.totalBlocks * header.blockSizeBytes, sparse: true };
}

/** Throws RELEASE_TOO_BIG when an image of `imageSizeBytes` does not fit the layout's size. */
export function checkImageFits(
  entry: string,
  fileName: string,
  imageSizeBytes: number,
  layoutSizeBytes: number | undefined,
  sparse: boolean,
): void {
  if (layoutSizeBytes === undefined || imageSizeBytes <= layoutSizeBytes) return;
  const what = sparse
    ? `sparse image ${fileName} expands to ${imageSizeBytes} bytes`
    : `image ${fileName} is ${imageSizeBytes} bytes`;
  throw new ImageError(
    'RELEASE_TOO_BIG',
    `${entry}: ${what}, larger than the ${layoutSizeBytes} bytes the layout gives the partition`,
  );
}

/**
 * The open() of a folder-layout partition: opens the resolved file (raw or sparse, sniffed) and
 * re-checks that it still fits, in case the file changed since the release was read.
 */
export function folderImageOpener(
  entry: string,
  file: ReleaseFile | undefined,
  fileName: string | undefined,
  layoutSizeBytes: number | undefined,
): () => Promise<BlockSource> {
  return async () => {
    if (!file || fileName === undefined)
      throw new ImageError('RELEASE_NO_IMAGE', `${entry}: the layout names no image file for this partition`);
    return fitsOrClosed(await openImage(file.realPath), entry, fileName, layoutSizeBytes);
  };
}

/** Returns the opened `source` when it fits the layout's size; otherwise closes it and throws RELEASE_TOO_BIG. */
export async function fitsOrClosed(
  source: BlockSource,
  entry: string,
  fileName: string,
  layoutSizeBytes: number | undefined,
): Promise<BlockSource> {
  try {
    checkImageFits(entry, fileName, source.sizeBytes, layoutSizeBytes, source.format === 'sparse');
  } catch (err) {
    await source.close();
    throw err;
  }
  return source;
}
