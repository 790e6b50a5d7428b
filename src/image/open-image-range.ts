// Opens a byte range of a file (an image stored inside a container, e.g. a Unisoc PAC entry) as
// a BlockSource, sniffing the Android sparse magic at the range's start exactly as open-image.ts
// does for whole files. The container is never extracted: reads go to the file in place.

import { ImageError, ioError, OtaError } from '../errors/ota-error.js';
import type { BlockSource } from './block-source.js';
import { FileRange } from './file-range.js';
import { assertRawImageSize } from './input-image-limit.js';
import { RawImageSource } from './raw-image-source.js';
import { SPARSE_HEADER_MAGIC } from './sparse-format.js';
import { SparseImageSource } from './sparse-image-source.js';
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
    const range = new FileRange(fh, offsetBytes, sizeBytes);
    const head = Buffer.alloc(4);
    const { bytesRead } = await range.read(head, 0, 4, 0);
    if (bytesRead === 4 && head.readUInt32LE(0) === SPARSE_HEADER_MAGIC)
      return await SparseImageSource.fromHandle(displayPath, range, sizeBytes);
    assertRawImageSize(displayPath, sizeBytes);
    return RawImageSource.fromHandle(displayPath, range, sizeBytes);
  } catch (err) {
    await fh.close().catch(() => undefined);
    if (err instanceof OtaError) throw err;
    throw ioError('read image', path, err);
  }
}
