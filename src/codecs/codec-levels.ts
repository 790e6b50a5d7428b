// Each codec's level range and default level: the one table the codec descriptors take them from,
// and what `build --help` lists without loading any codec. Pure data.

import type { CodecName } from '../model/wire-ids.js';

/** A codec's levels. */
export interface CodecLevels {
  readonly minLevel: number;
  readonly maxLevel: number;
  /** Level used when the user gives none (favours size; `auto` tries this one). */
  readonly defaultLevel: number;
}

/** The levels of every codec, by name. */
export const CODEC_LEVELS: Readonly<Record<CodecName, CodecLevels>> = {
  none: { minLevel: 0, maxLevel: 0, defaultLevel: 0 },
  gzip: { minLevel: 1, maxLevel: 9, defaultLevel: 9 },
  /**
   * 9: on 1 MiB of an ELF binary, 10 and 11 are 9-14% smaller but 10-40x slower (0.3-1.6 MiB/s)
   * and still lose to xz -9 on size, so brotli's useful point is fast decent compression.
   */
  brotli: { minLevel: 0, maxLevel: 11, defaultLevel: 9 },
  zstd: { minLevel: 1, maxLevel: 22, defaultLevel: 19 },
  /** 9: with the dictionary fitted to the input, presets 6..9 cost the same and 9 never loses. */
  xz: { minLevel: 0, maxLevel: 9, defaultLevel: 9 },
};
