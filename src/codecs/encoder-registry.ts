// Encoder registry: the only module that imports the concrete encoders. Resolves an encoder by
// the name a user or profile gives (usage error when unknown). Wire ids are resolved on the
// decode side only (decoder-registry.ts). Encoders are stateless, so one instance of each is shared.

import { UsageError } from '../errors/ota-error.js';
import type { CodecName } from '../model/wire-ids.js';
import { BrotliEncoder } from './brotli-encoder.js';
import type { Encoder } from './encoder.js';
import { GzipEncoder } from './gzip-encoder.js';
import { NoneEncoder } from './none-encoder.js';
import { XzEncoder } from './xz-encoder.js';
import { ZstdEncoder } from './zstd-encoder.js';

const ENCODERS: readonly Encoder[] = [
  new NoneEncoder(),
  new GzipEncoder(),
  new BrotliEncoder(),
  new ZstdEncoder(),
  new XzEncoder(),
];

/** Names of every codec, in wire-id order. */
export const CODEC_NAMES: readonly CodecName[] = ENCODERS.map((encoder) => encoder.name);

/** Every encoder, in wire-id order. */
export function allEncoders(): readonly Encoder[] {
  return ENCODERS;
}

/** The encoder of the codec called `name`. Throws UsageError `BAD_CODEC` listing the valid names otherwise. */
export function encoderByName(name: string): Encoder {
  const encoder = ENCODERS.find((candidate) => candidate.name === name);
  if (encoder === undefined) {
    throw new UsageError('BAD_CODEC', `unknown codec "${name}": expected one of ${CODEC_NAMES.join(', ')}`);
  }
  return encoder;
}
