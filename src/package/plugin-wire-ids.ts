// The decode side's answer to "which codec or differ is wire id N": the manifest decoder asks the
// decoder and patcher registries, the single place that knows the ids and refuses unknown ones.

import { decoderByWireId } from '../codecs/decoder-registry.js';
import { patcherByWireId } from '../diff/patcher-registry.js';
import type { PluginWireIds } from '../format/manifest-codec.js';

/** Codec and differ ids resolved by the decode-side registries (UNKNOWN_CODEC / UNKNOWN_DIFFER otherwise). */
export const PLUGIN_WIRE_IDS: PluginWireIds = {
  codecName: (wireId, where) => decoderByWireId(wireId, where).name,
  differName: (wireId, where) => patcherByWireId(wireId, where).name,
};
