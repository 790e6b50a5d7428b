// The ARM64 BCJ transform (arm64-bcj.ts), the .xz checksums and the filter-gain measure: the
// transform inverts itself for any bytes and start offset, converts exactly BL and in-range
// ADRP words, and the gain tells AArch64-like code from x86 code, text and random data.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arm64BcjDecode, arm64BcjEncode } from '../../src/codecs/arm64-bcj.js';
import { ARM64_FILTER_MIN_GAIN, arm64FilterGain } from '../../src/codecs/arm64-filter-gain.js';
import { crc32 } from '../../src/hashing/crc32.js';
import { crc64Bytes } from '../../src/codecs/xz-checksums.js';
import { aarch64Like, elfChunk, randomBytes, textLike } from './sample-data.js';

/** Words biased to BL and ADRP opcodes (so most of them convert), as bytes with a 0-3 byte tail. */
const codeBytes = fc
  .tuple(
    fc.array(
      fc.tuple(
        fc.constantFrom(0x94000000, 0x90000000, 0xb0000000, 0xf0000000, 0),
        fc.integer({ min: 0, max: 0x03ffffff }),
      ),
      { maxLength: 200 },
    ),
    fc.uint8Array({ maxLength: 3 }),
  )
  .map(([words, tail]) => {
    const out = Buffer.alloc(words.length * 4 + tail.length);
    words.forEach(([high, low], i) => out.writeUInt32LE((high | low) >>> 0, i * 4));
    out.set(tail, words.length * 4);
    return new Uint8Array(out);
  });

describe('ARM64 BCJ transform', () => {
  it('decode(encode(x)) == x and encode(decode(x)) == x for any bytes, lengths and start offsets', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 4099 }), codeBytes),
        fc.oneof(fc.constant(0), fc.nat({ max: 0xffffffff })),
        (bytes, start) => {
          const there = arm64BcjEncode(Uint8Array.from(bytes), start);
          expect(Buffer.from(arm64BcjDecode(Uint8Array.from(there), start)).equals(Buffer.from(bytes))).toBe(true);
          const back = arm64BcjDecode(Uint8Array.from(bytes), start);
          expect(Buffer.from(arm64BcjEncode(back, start)).equals(Buffer.from(bytes))).toBe(true);
          // A buffer at an odd byte offset (the DataView path) gives the same bytes.
          const shifted = new Uint8Array(bytes.length + 1).fill(7);
          shifted.set(bytes, 1);
          arm64BcjEncode(shifted.subarray(1), start);
          expect(Buffer.from(shifted.subarray(1)).equals(Buffer.from(there))).toBe(true);
          expect(shifted[0]).toBe(7);
          // A trailing 1-3 bytes are never touched.
          const tail = bytes.length & 3;
          expect(
            Buffer.from(there.subarray(bytes.length - tail)).equals(Buffer.from(bytes.subarray(bytes.length - tail))),
          ).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('adds pc/4 to a BL immediate and pc/4096 to an in-range ADRP page offset, nothing else', () => {
    const words = Buffer.alloc(0x3010);
    words.writeUInt32LE(0x94000001, 0x1000); // BL +4
    words.writeUInt32LE(0x97ffffff, 0x1004); // BL -4
    words.writeUInt32LE((0xb0000005 | (1 << 5)) >>> 0, 0x3000); // ADRP x5, page offset 0b101 (immlo 1, immhi 1)
    words.writeUInt32LE((0x90000000 | (0x40000 << 5)) >>> 0, 0x3004); // ADRP, page offset 2^20: out of range
    words.writeUInt32LE(0x14000001, 0x3008); // B (not BL)
    const encoded = Buffer.from(arm64BcjEncode(Uint8Array.from(words)));
    expect(encoded.readUInt32LE(0x1000).toString(16)).toBe((0x94000001 + 0x400).toString(16));
    // imm26 -1 + 0x1004/4 = 0x400.
    expect(encoded.readUInt32LE(0x1004).toString(16)).toBe('94000400');
    // page offset 5 + 0x3000/4096 = 8: immlo 0, immhi 2.
    expect(encoded.readUInt32LE(0x3000).toString(16)).toBe(((0x90000005 | (2 << 5)) >>> 0).toString(16));
    expect(encoded.readUInt32LE(0x3004)).toBe(words.readUInt32LE(0x3004));
    expect(encoded.readUInt32LE(0x3008)).toBe(0x14000001);
  });
});

describe('xz checksums', () => {
  it('CRC32 and CRC64 of "123456789" are the check values of the xz file format', () => {
    expect(crc32(Buffer.from('123456789')).toString(16)).toBe('cbf43926');
    expect(crc64Bytes(Buffer.from('123456789')).readBigUInt64LE().toString(16)).toBe('995dc9bbdf1939fa');
  });
});

describe('arm64FilterGain', () => {
  it('is above the threshold for AArch64-like code only', () => {
    expect(arm64FilterGain(aarch64Like(512 * 1024))).toBeGreaterThan(ARM64_FILTER_MIN_GAIN);
    for (const other of [elfChunk(512 * 1024), textLike(512 * 1024), randomBytes(512 * 1024), Buffer.alloc(4096)])
      expect(arm64FilterGain(other)).toBeLessThan(ARM64_FILTER_MIN_GAIN);
  });
});
