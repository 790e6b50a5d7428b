// Opens an image path as a BlockSource, sniffing the container by its magic bytes: Android
// sparse images are read in place (never expanded to disk), anything else is a raw image.

import { ImageError, ioError, OtaError } from '../errors/ota-error.js';
import type { BlockSource } from './block-source.js';
import { assertRawImageSize } from './input-image-limit.js';
import { RawImageSource } from './raw-image-source.js';
import { SPARSE_HEADER_MAGIC } from './sparse-format.js';
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
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead === 4 && head.readUInt32LE(0) === SPARSE_HEADER_MAGIC)
      return await SparseImageSource.fromHandle(path, fh, sizeBytes);
    assertRawImageSize(path, sizeBytes);
    return RawImageSource.fromHandle(path, fh, sizeBytes);
  } catch (err) {
    await fh.close().catch(() => undefined);
    if (err instanceof OtaError) throw err;
    throw ioError('read image', path, err);
  }
}
