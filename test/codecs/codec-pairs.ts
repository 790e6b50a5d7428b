// Test helper: each registered encoder joined with the decoder the decode-side registry finds for
// its wire id, so round-trip and cap tests drive both real halves through one object.

import { decoderByWireId } from '../../src/codecs/decoder-registry.js';
import type { Encoder } from '../../src/codecs/encoder.js';
import { allEncoders, encoderByName } from '../../src/codecs/encoder-registry.js';

/** An encoder plus its decoder's `decode`. */
export interface CodecPair extends Encoder {
  decode(data: Uint8Array, expectedSizeBytes: number, memoryBytes?: number, into?: Buffer): Promise<Buffer>;
}

/** Joins `encoder` with the decoder registered under its wire id. */
export function pairCodec(encoder: Encoder): CodecPair {
  const decoder = decoderByWireId(encoder.wireId);
  const pair = Object.create(encoder) as CodecPair;
  pair.decode = (data, expectedSizeBytes, memoryBytes, into) =>
    decoder.decode(data, expectedSizeBytes, memoryBytes, into);
  return pair;
}

/** Every codec as an encoder/decoder pair, in wire-id order. */
export function allCodecs(): CodecPair[] {
  return allEncoders().map(pairCodec);
}

/** The pair of the codec called `name`. */
export function codecByName(name: string): CodecPair {
  return pairCodec(encoderByName(name));
}
