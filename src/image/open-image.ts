// Opens an image path as a BlockSource, sniffing the container by its magic bytes.

import { ImageError, UnsupportedError } from '../errors/ota-error.js';
import type { BlockSource } from './block-source.js';
import { RawImageSource } from './raw-image-source.js';

/** Android sparse image magic, little-endian at offset 0. */
export const SPARSE_MAGIC = 0xed26ff3a;

/** Opens `path` read-only and returns the matching BlockSource. */
export async function openImage(path: string): Promise<BlockSource> {
  const raw = await RawImageSource.open(path);
  try {
    if (raw.sizeBytes >= 4) {
      const head = await raw.read(0, 4);
      if (head.readUInt32LE(0) === SPARSE_MAGIC) {
        throw new UnsupportedError('SPARSE_NOT_SUPPORTED', `${path} is an Android sparse image; expand it with simg2img first (sparse input is not supported yet)`);
      }
    }
    if (raw.sizeBytes === 0) throw new ImageError('IMAGE_EMPTY', `${path} is empty`);
    return raw;
  } catch (err) {
    await raw.close();
    throw err;
  }
}
