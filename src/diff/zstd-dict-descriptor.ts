// zstd-dict's shared facts: wire id 2 (one zstd frame with the source as raw-content
// dictionary), the window fitted to source + target, and the decoder's memory.

import { windowLogFor } from '../codecs/window-log.js';
import { zstdStreamingDecoderBytes, ZSTD_MAX_WINDOW_LOG, ZSTD_MIN_WINDOW_LOG } from '../codecs/zstd-frame.js';
import { DifferWireId, type DifferDescriptor } from './differ-descriptor.js';

/** Window log for a patch: `ceil(log2(source + target))` clamped to 10..27. */
export function zstdDictWindowLog(sourceBytes: number, targetBytes: number): number {
  return windowLogFor(sourceBytes + targetBytes, ZSTD_MIN_WINDOW_LOG, ZSTD_MAX_WINDOW_LOG);
}

/** zstd-dict (wire id 2). */
export const ZSTD_DICT_DIFFER: DifferDescriptor = {
  name: 'zstd-dict',
  wireId: DifferWireId['zstd-dict'],
  /**
   * The source (the dictionary stays referenced for the whole frame) plus a streaming decoder
   * whose window is the target (our frames are single-segment: window = content size), i.e.
   * window + source + block buffers + context. A one-shot decoder needs source + target + context.
   */
  decoderMemoryBytes: (sourceBytes, targetBytes) =>
    sourceBytes +
    zstdStreamingDecoderBytes(
      Math.min(2 ** zstdDictWindowLog(sourceBytes, targetBytes), Math.max(targetBytes, 2 ** ZSTD_MIN_WINDOW_LOG)),
    ),
};
