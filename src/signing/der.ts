// Minimal DER pieces the PKCS#11 code needs: building an SPKI from a token's EC/EdDSA point and
// converting ECDSA signatures from PKCS#11's raw r||s to the DER that FORMAT.md §5 stores.

/** DER length bytes. */
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One DER TLV. */
export function derTlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(tag), derLength(content.length), content]);
}

/** Reads one TLV at `at`; returns its tag, content and end, or undefined when malformed. */
export function readTlv(buf: Uint8Array, at = 0): { tag: number; content: Buffer; end: number } | undefined {
  if (at + 2 > buf.length) return undefined;
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > buf.length) return undefined;
  return { tag, content: Buffer.from(buf.subarray(p, p + len)), end: p + len };
}

/** The SPKI DER of a public key: algorithm identifier (DER) and the key bytes. */
export function spkiDer(algorithmIdentifier: Uint8Array, keyBytes: Uint8Array): Buffer {
  return derTlv(0x30, Buffer.concat([algorithmIdentifier, derTlv(0x03, Buffer.concat([Buffer.of(0), keyBytes]))]));
}

function derInteger(unsigned: Uint8Array): Buffer {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  const v = Buffer.from(unsigned.subarray(i));
  return derTlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.of(0), v]) : v);
}

/** Converts a raw ECDSA signature (r || s, equal halves) to DER `SEQUENCE { r, s }`. */
export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  const half = raw.length / 2;
  return derTlv(0x30, Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]));
}
