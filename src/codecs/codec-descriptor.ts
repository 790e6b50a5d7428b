// CodecDescriptor: the pure facts about a compression format that both halves of a codec plugin
// share (name, wire id, level range, the device decoder's memory). Imports no encoder or decoder.

import type { CodecName } from '../model/wire-ids.js';
import type { CodecLevels } from './codec-levels.js';

/** Stable wire ids written into packages (defined in model/wire-ids.ts). */
export { CodecWireId, type CodecName } from '../model/wire-ids.js';

/** What the encoder and the decoder of one codec agree on (its levels: codec-levels.ts). */
export interface CodecDescriptor extends CodecLevels {
  readonly name: CodecName;
  readonly wireId: number;
  /** Memory the device's decoder needs for a stream encoded at `level` from `inputBytes`. */
  decoderMemoryBytes(level: number, inputBytes: number): number;
}
