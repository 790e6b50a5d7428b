// Shared helpers for encoding and strictly decoding the protobuf sections: canonical encoding
// (defaults omitted) and a re-encode check that rejects anything not written by this encoder.

import type protobuf from 'protobufjs';
import { PackageFormatError } from '../errors/ota-error.js';
import { TO_OBJECT_OPTIONS } from './schema.js';

/** A decoded protobuf message as plain data: untyped until the codecs check each field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- protobufjs objects are dynamic; codecs check every field
export type WireMessage = Record<string, any>;

/** Removes default values so proto3 encoding is canonical (protobufjs writes any set field). */
export function withoutDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDefaults);
  if (value instanceof Uint8Array) return value;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || v === null || v === 0 || v === '' || v === false) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      if (v instanceof Uint8Array && v.length === 0) continue;
      out[k] = withoutDefaults(v);
    }
    return out;
  }
  return value;
}

/** Encodes a plain object as `type`, canonically. */
export function encodeMessage(type: protobuf.Type, value: object): Buffer {
  const message = type.fromObject(withoutDefaults(value) as Record<string, unknown>);
  return Buffer.from(type.encode(message).finish());
}

/**
 * Decodes `bytes` as `type` into a plain object with every field present, then re-encodes it
 * and requires the same bytes: unknown fields, duplicate fields or non-canonical varints fail.
 */
export function decodeMessageStrict(type: protobuf.Type, bytes: Uint8Array, what: string): WireMessage {
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (err) {
    throw new PackageFormatError(
      'PKG_BAD_MANIFEST',
      `${what} is not a valid ${type.name} message: ${(err as Error).message}`,
    );
  }
  const plain = type.toObject(message, TO_OBJECT_OPTIONS);
  const again = encodeMessage(type, plain);
  if (!again.equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
    throw new PackageFormatError(
      'PKG_NON_CANONICAL',
      `${what} is not canonically encoded (unknown or repeated fields)`,
    );
  }
  return plain;
}
