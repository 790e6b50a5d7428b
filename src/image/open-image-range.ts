// Opens a byte range of a file (an image stored inside a container, e.g. a Unisoc PAC entry) as
// a BlockSource, sniffing the Android sparse magic at the range's start exactly as open-image.ts
// does for whole files. The container is never extracted: reads go to the file in place.

import { ImageError, ioError, OtaError } from '../errors/ota-error.js';
import type { BlockSource } from './block-source.js';
import { FileRange } from './file-range.js';
import { sniffedImage } from './open-image.js';
import { openRegularFile } from './open-read-only.js';

/**
 * Opens bytes [offsetBytes, offsetBytes + sizeBytes) of `path` read-only as a raw or sparse image.
 * `displayPath` names the image in messages (e.g. `firmware.pac:system.img`). Throws ImageError
 * (exit 3) when the range is empty or runs past the end of the file, IoError (exit 8) when the
 * file cannot be opened. Memory: as RawImageSource/SparseImageSource.
 */
export async function openImageRange(
  path: string,
  offsetBytes: number,
  sizeBytes: number,
  displayPath = `${path}@${offsetBytes}`,
): Promise<BlockSource> {
  const { fh, sizeBytes: fileSizeBytes } = await openRegularFile(
    path,
    'open image',
    () => new ImageError('IMAGE_NOT_FILE', `${path} is not a regular file`),
  );
  try {
    if (sizeBytes === 0) throw new ImageError('IMAGE_EMPTY', `${displayPath} is empty`);
    if (offsetBytes + sizeBytes > fileSizeBytes) {
      throw new ImageError(
        'IMAGE_TRUNCATED',
        `${displayPath}: bytes ${offsetBytes}..${offsetBytes + sizeBytes} run past the end of ${path} (${fileSizeBytes} bytes)`,
      );
    }
    return await sniffedImage(displayPath, new FileRange(fh, offsetBytes, sizeBytes), sizeBytes);
  } catch (err) {
    await fh.close().catch(() => undefined);
    if (err instanceof OtaError) throw err;
    throw ioError('read image', path, err);
  }
}
