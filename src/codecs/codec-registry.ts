// Codec registry: the only module that imports the concrete codecs. Resolves a codec by the
// name a user or profile gives (usage error when unknown) or by the wire id a package stores
// (unsupported when unknown). Codecs are stateless, so one instance of each is shared.

import { UnsupportedError, UsageError } from '../errors/ota-error.js';
import { BrotliCodec } from './brotli-codec.js';
import type { Codec, CodecName } from './codec.js';
import { GzipCodec } from './gzip-codec.js';
import { NoneCodec } from './none-codec.js';
import { XzCodec } from './xz-codec.js';
import { ZstdCodec } from './zstd-codec.js';

const CODECS: readonly Codec[] = [new NoneCodec(), new GzipCodec(), new BrotliCodec(), new ZstdCodec(), new XzCodec()];

/** Names of every codec, in wire-id order. */
export const CODEC_NAMES: readonly CodecName[] = CODECS.map((codec) => codec.name);

/** Every codec, in wire-id order. */
export function allCodecs(): readonly Codec[] {
  return CODECS;
}

/** The codec called `name`. Throws UsageError `BAD_CODEC` listing the valid names otherwise. */
export function codecByName(name: string): Codec {
  const codec = CODECS.find((candidate) => candidate.name === name);
  if (codec === undefined) {
    throw new UsageError('BAD_CODEC', `unknown codec "${name}": expected one of ${CODEC_NAMES.join(', ')}`);
  }
  return codec;
}

/** The codec with wire id `id`. Throws UnsupportedError `UNKNOWN_CODEC` otherwise. */
export function codecByWireId(id: number): Codec {
  const codec = CODECS.find((candidate) => candidate.wireId === id);
  if (codec === undefined) {
    const known = CODECS.map((c) => `${c.wireId} (${c.name})`).join(', ');
    throw new UnsupportedError('UNKNOWN_CODEC', `unknown codec id ${String(id)}: this version knows ${known}`);
  }
  return codec;
}
