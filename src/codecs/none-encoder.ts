// The identity encoder: useful for incompressible data, where any real codec only adds its
// framing. The blob is a copy of the input.

import { assertLevel } from './codec-errors.js';
import type { Encoder } from './encoder.js';
import { NONE_CODEC } from './none-descriptor.js';

/** Stores bytes as they are (wire id 0). Has a single level, 0. */
export class NoneEncoder implements Encoder {
  readonly name = NONE_CODEC.name;
  readonly wireId = NONE_CODEC.wireId;
  readonly minLevel = NONE_CODEC.minLevel;
  readonly maxLevel = NONE_CODEC.maxLevel;
  readonly defaultLevel = NONE_CODEC.defaultLevel;
  readonly decoderMemoryBytes = NONE_CODEC.decoderMemoryBytes;
  readonly traits = { speedClass: 'fast', probeOrder: 0 } as const;

  /** Returns a copy of `data`. */
  async encode(data: Uint8Array, level: number): Promise<Buffer> {
    assertLevel(this.name, level, this.minLevel, this.maxLevel);
    return Buffer.from(data);
  }
}
