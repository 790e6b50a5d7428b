// CRC-32 (IEEE 802.3, reflected, as zlib computes it), shared by the Android sparse format's
// CRC32 chunk and the .xz container's headers, index, footer and check id 1. Pure.

import * as zlib from 'node:zlib';

/** crc32 of `data`, continuing from `previous` (0 to start): zlib's where Node has it. */
export function crc32(data: Uint8Array, previous = 0): number {
  return typeof zlib.crc32 === 'function' ? zlib.crc32(data, previous) : tableCrc32(data, previous);
}

let crcTable: Int32Array | undefined;

/** Table-driven crc32 for Node versions before 20.15 (no zlib.crc32). Same results, slower. */
export function tableCrc32(data: Uint8Array, previous = 0): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  const table = crcTable;
  let crc = ~previous;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
