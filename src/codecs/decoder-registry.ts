// Decoder registry: the only module that imports the concrete decoders, and the one place that
// turns a codec wire id read from a package into a codec (refusing unknown ids). Imports no
// encoder. Decoders are stateless, so one instance of each is shared. Each is loaded on its first
// decode: an apply or verify loads only the decoders its package uses.

import { UnsupportedError } from '../errors/ota-error.js';
import { loadedOnFirstUse } from '../model/loaded-on-first-use.js';
import { CodecWireId, type CodecName } from '../model/wire-ids.js';
import type { Decoder } from './decoder.js';

/** The decoder called `name`, its module imported by `load` on the first decode. */
function decoderOnFirstUse(name: CodecName, load: () => Promise<Decoder>): Decoder {
  const id = { name, wireId: CodecWireId[name] };
  const loaded = loadedOnFirstUse(id, load);
  return { ...id, decode: async (...args) => (await loaded()).decode(...args) };
}

const DECODERS: readonly Decoder[] = [
  decoderOnFirstUse('none', async () => new (await import('./none-decoder.js')).NoneDecoder()),
  decoderOnFirstUse('gzip', async () => new (await import('./gzip-decoder.js')).GzipDecoder()),
  decoderOnFirstUse('brotli', async () => new (await import('./brotli-decoder.js')).BrotliDecoder()),
  decoderOnFirstUse('zstd', async () => new (await import('./zstd-decoder.js')).ZstdDecoder()),
  decoderOnFirstUse('xz', async () => new (await import('./xz-decoder.js')).XzDecoder()),
];

/** Every decoder, in wire-id order. */
export function allDecoders(): readonly Decoder[] {
  return DECODERS;
}

/**
 * The decoder with wire id `id`. Throws UnsupportedError `UNKNOWN_CODEC` (exit 7) naming the
 * known ids otherwise; `where` (e.g. `partition system op 3`) prefixes the message.
 */
export function decoderByWireId(id: number, where?: string): Decoder {
  const decoder = DECODERS.find((candidate) => candidate.wireId === id);
  if (decoder === undefined) {
    const known = DECODERS.map((d) => `${d.wireId} (${d.name})`).join(', ');
    const prefix = where === undefined ? '' : `${where}: `;
    throw new UnsupportedError('UNKNOWN_CODEC', `${prefix}unknown codec id ${String(id)}: this version knows ${known}`);
  }
  return decoder;
}

/**
 * The decoder of the codec called `name` (an op's codec, resolved from its wire id when the
 * manifest was read). Throws UnsupportedError `UNKNOWN_CODEC` for a name no decoder has.
 */
export function decoderFor(name: string): Decoder {
  const found = DECODERS.find((candidate) => candidate.name === name);
  if (found === undefined)
    throw new UnsupportedError('UNKNOWN_CODEC', `unknown codec "${name}": this version has no decoder for it`);
  return found;
}
