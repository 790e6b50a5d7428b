// The largest image ota-build reads as an input (old or new, raw or the expanded size of a
// sparse one): what bounds the per-block tables a build keeps for each image.

import { ImageError } from '../errors/ota-error.js';

/**
 * 64 GiB. Hashing keeps one 32-byte sha256 digest per 4 KiB block in memory, so 64 GiB of image
 * costs 512 MiB of digests (more would also pass the 2^28 blocks the planner's index holds).
 * Larger phone partitions (userdata) are not what an update package carries.
 */
export const MAX_INPUT_IMAGE_BYTES = 64 * 1024 ** 3;

/** "64 GiB", for messages. */
export const MAX_INPUT_IMAGE_LABEL = '64 GiB';

/**
 * Throws IMAGE_TOO_LARGE (exit 3) for a raw image over the limit, before anything is sized from
 * it (a sparse image's expanded size is checked from its header: sparse-format.ts).
 */
export function assertRawImageSize(displayPath: string, sizeBytes: number): void {
  if (sizeBytes > MAX_INPUT_IMAGE_BYTES)
    throw new ImageError(
      'IMAGE_TOO_LARGE',
      `${displayPath} is ${sizeBytes} bytes, over the ${MAX_INPUT_IMAGE_BYTES}-byte (${MAX_INPUT_IMAGE_LABEL}) limit for input images`,
    );
}

/** Most blocks an input image may have: 64 GiB of 4 KiB blocks (2^24), whatever the block size. */
export const MAX_INPUT_IMAGE_BLOCKS = MAX_INPUT_IMAGE_BYTES / 4096;

/**
 * Throws IMAGE_TOO_LARGE (exit 3) for an image of more than MAX_INPUT_IMAGE_BLOCKS blocks of
 * `blockSizeBytes`: a profile with small blocks would otherwise need more digest memory than the
 * byte limit allows for (512-byte blocks: 4 GiB of digests at 64 GiB).
 */
export function assertImageBlockCount(displayPath: string, sizeBytes: number, blockSizeBytes: number): void {
  const blocks = Math.ceil(sizeBytes / blockSizeBytes);
  if (blocks > MAX_INPUT_IMAGE_BLOCKS)
    throw new ImageError(
      'IMAGE_TOO_LARGE',
      `${displayPath} is ${blocks} blocks of ${blockSizeBytes} bytes, over the ${MAX_INPUT_IMAGE_BLOCKS} blocks an input image may have`,
    );
}
