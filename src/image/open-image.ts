// Opens an image path as a BlockSource, sniffing the container by its first bytes: Android
// sparse images are read in place (never expanded to disk), one whose magic alone is damaged is
// refused, anything else is a raw image.

import { ImageError, ioError, OtaError } from '../errors/ota-error.js';
import type { BlockSource } from './block-source.js';
import { assertRawImageSize } from './input-image-limit.js';
import type { PositionalReader } from './file-range.js';
import { RawImageSource } from './raw-image-source.js';
import { damagedSparseDetail, SPARSE_FILE_HEADER_BYTES, sparseContainerOf } from './sparse-format.js';
import { SparseImageSource } from './sparse-image-source.js';
import { openRegularFile } from './open-read-only.js';

/** Opens `path` read-only and returns the matching BlockSource. */
export async function openImage(path: string): Promise<BlockSource> {
  const { fh, sizeBytes } = await openRegularFile(
    path,
    'open image',
    () =>
      new ImageError(
        'IMAGE_NOT_FILE',
        `${path} is not a regular file (block devices, FIFOs and folders are not supported as images)`,
      ),
  );
  try {
    if (sizeBytes === 0) throw new ImageError('IMAGE_EMPTY', `${path} is empty`);
    return await sniffedImage(path, fh, sizeBytes);
  } catch (err) {
    await fh.close().catch(() => undefined);
    if (err instanceof OtaError) throw err;
    throw ioError('read image', path, err);
  }
}

/**
 * The image `reader` holds (`sizeBytes` from its start), by its first bytes (sparseContainerOf):
 * a sparse image read in place, or a raw one. A sparse header whose magic alone is damaged is
 * SPARSE_BAD_HEADER: read as raw, its container bytes would pass for the image.
 */
export async function sniffedImage(
  displayPath: string,
  reader: PositionalReader,
  sizeBytes: number,
): Promise<BlockSource> {
  const head = Buffer.alloc(SPARSE_FILE_HEADER_BYTES);
  const { bytesRead } = await reader.read(head, 0, head.length, 0);
  const container = sparseContainerOf(head.subarray(0, bytesRead));
  if (container === 'sparse') return SparseImageSource.fromHandle(displayPath, reader, sizeBytes);
  if (container === 'damaged-sparse')
    throw new ImageError('SPARSE_BAD_HEADER', `${displayPath}: ${damagedSparseDetail(head)}`);
  assertRawImageSize(displayPath, sizeBytes);
  return RawImageSource.fromHandle(displayPath, reader, sizeBytes);
}
