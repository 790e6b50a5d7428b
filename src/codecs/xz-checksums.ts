// The .xz container's CRC64 (check id 4), the reflected ECMA-182 form the xz file format names
// (§6); its CRC32 (headers, index, footer, check id 1) is zlib's (hashing/crc32.ts). Pure.

/** CRC64 polynomial (ECMA-182, reflected) as high and low 32-bit halves. */
const CRC64_POLY_HI = 0xc96c5795;
const CRC64_POLY_LO = 0xd7870f42;

const [CRC64_TABLE_HI, CRC64_TABLE_LO] = buildCrc64Tables();

/** CRC64 of `data` as xz computes it, as its 8 little-endian bytes (how the check field stores it). */
export function crc64Bytes(data: Uint8Array): Buffer {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    const index = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ CRC64_TABLE_LO[index]!;
    hi = (hi >>> 8) ^ CRC64_TABLE_HI[index]!;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32LE((lo ^ 0xffffffff) >>> 0, 0);
  out.writeUInt32LE((hi ^ 0xffffffff) >>> 0, 4);
  return out;
}

function buildCrc64Tables(): [Uint32Array, Uint32Array] {
  const hiTable = new Uint32Array(256);
  const loTable = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let hi = 0;
    let lo = n;
    for (let k = 0; k < 8; k++) {
      const odd = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (odd) {
        hi = (hi ^ CRC64_POLY_HI) >>> 0;
        lo = (lo ^ CRC64_POLY_LO) >>> 0;
      }
    }
    hiTable[n] = hi;
    loTable[n] = lo;
  }
  return [hiTable, loTable];
}
