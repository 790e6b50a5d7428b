// What a codec is told about the chunk it compresses (EncodeOptions): its content class, its
// 4-byte structure and whether it is x86 or AArch64 code, measured once per chunk for every codec.

import { ARM64_FILTER_MIN_GAIN, arm64FilterGain } from '../codecs/arm64-filter-gain.js';
import type { EncodeOptions } from '../codecs/encoder.js';
import { byteLaneGapBits, isStronglyWordStructured } from '../codecs/lzma2-content-tuning.js';
import { MINOR_XZ_ARM64 } from '../format/package-header.js';
import { contentClassOf } from '../hashing/content-sketch.js';
import { readsFormatMinor } from '../model/target-profile.js';
import type { EncodeTask } from './encode-task.js';
import { SMALL_CHUNK_BYTES } from './full-image-rules.js';

/**
 * What the codecs are told about a chunk over SMALL_CHUNK_BYTES: its content class and 4-byte
 * structure (measured once here, for every codec and level), and whether it is AArch64 code (by
 * arm64FilterGain, whatever its class) or x86 code (class x86 without the strong 4-byte structure
 * of AArch64 code). Small chunks get nothing (their bytes are kept as the codec makes them).
 * Delta packages too: on major-256, chunks of a rebuilt x86-64 binary that its old version barely
 * helps went from zstd-dict (676,879 bytes for one 2 MiB chunk) to xz with the x86 filter
 * (about 594,000).
 */
export function encodeOptions(task: EncodeTask): EncodeOptions {
  if (task.newData.length <= SMALL_CHUNK_BYTES) return {};
  const contentClass = contentClassOf(task.newData);
  const laneGapBits = byteLaneGapBits(task.newData);
  // The ARM64 chain needs format 1.4: only where every target reads it.
  const arm64Readable = (task.targets ?? []).every((t) => readsFormatMinor(t, MINOR_XZ_ARM64));
  if (arm64Readable && arm64FilterGain(task.newData) >= ARM64_FILTER_MIN_GAIN)
    return { arm64Code: true, contentClass, laneGapBits };
  return contentClass === 'x86' && !isStronglyWordStructured(laneGapBits)
    ? { x86Code: true, contentClass, laneGapBits }
    : { contentClass, laneGapBits };
}
