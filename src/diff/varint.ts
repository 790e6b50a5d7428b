// Unsigned LEB128 varints as the bsdiff-lzma patch uses them (header lengths, sparse-diff gaps):
// 7 bits per byte, low first, high bit set on every byte but the last. Pure.

/** Varints longer than this are refused: 7 bytes carry 49 bits, more than any length we accept (< 2^48). */
export const MAX_VARINT_BYTES = 7;

/** Writes `value` (a non-negative safe integer) at `at`; returns the offset after it. */
export function writeVarint(out: Uint8Array, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}

/** Bytes `value` takes as a varint. */
export function varintBytes(value: number): number {
  let n = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) n++;
  return n;
}

/** A varint read at some offset: its value and the offset after it. */
export interface VarintRead {
  readonly value: number;
  readonly end: number;
}

/**
 * Reads a varint at `at`. Returns a reason instead when the bytes end inside it, it is longer
 * than MAX_VARINT_BYTES (so values stay below 2^49, exact in a double), or it is not in its
 * shortest form (a last byte of 0 after the first): each value has exactly one encoding.
 */
export function readVarint(
  bytes: Uint8Array,
  at: number,
): VarintRead | 'truncated' | 'too long' | 'not in shortest form' {
  let value = 0;
  let scale = 1;
  for (let n = 0; n < MAX_VARINT_BYTES; n++) {
    if (at + n >= bytes.length) return 'truncated';
    const byte = bytes[at + n] as number;
    value += (byte & 0x7f) * scale;
    scale *= 0x80;
    if ((byte & 0x80) === 0) return n > 0 && byte === 0 ? 'not in shortest form' : { value, end: at + n + 1 };
  }
  return 'too long';
}
