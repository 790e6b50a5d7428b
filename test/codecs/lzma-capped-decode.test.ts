// Raw LZMA2 decoding driven directly (lzma-capped-decode.ts): exact round trips (also into a lent
// buffer), every truncation and a wrong declared size refused with the typed error, a bomb stopped
// one slice past its cap.
import { describe, expect, it } from 'vitest';
import { decodeCapped, evenSlices } from '../../src/codecs/lzma-capped-decode.js';
import { decodeRawLzma2, encodeRawLzma2, lzma2DictLogFor, xzStreamDecoder } from '../../src/codecs/raw-lzma2.js';
import { XzDecoder } from '../../src/codecs/xz-decoder.js';
import { crc32 } from '../../src/hashing/crc32.js';
import { execFileSync } from 'node:child_process';
import { prng, suiteSeed } from '../helpers/seeded-random.js';
import { expectBlobError } from './expect-blob-error.js';

const MiB = 1024 * 1024;
const SEED = suiteSeed(0x1a2a);
const TUNING = { lc: 3, lp: 0, pb: 2 };

/** Half text-like, half random: several output buffers' worth, not all compressible. */
function sample(sizeBytes: number): Buffer {
  const next = prng(SEED);
  const out = Buffer.alloc(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) out[i] = i % 4096 < 2048 ? 97 + (i % 26) : Math.floor(next() * 256);
  return out;
}

describe('decodeRawLzma2 (direct, capped)', () => {
  it('round-trips data of many output buffers, from one byte up', async () => {
    for (const size of [1, 4096, 3 * MiB + 17]) {
      const data = sample(size);
      const dictLog = lzma2DictLogFor(size);
      const packed = await encodeRawLzma2(data, TUNING, dictLog);
      expect((await decodeRawLzma2('t', packed, dictLog, size)).equals(data), `size ${size}`).toBe(true);
    }
  });

  it('refuses every truncation, a too-small and a too-large declared size', async () => {
    const data = sample(300_000);
    const packed = await encodeRawLzma2(data, TUNING, 19);
    for (let cut = 0; cut < packed.length; cut += Math.max(1, Math.floor(packed.length / 23)))
      await expectBlobError(decodeRawLzma2('t', packed.subarray(0, cut), 19, data.length));
    expect((await expectBlobError(decodeRawLzma2('t', packed, 19, data.length - 1))).message).toMatch(/exceeds/);
    expect((await expectBlobError(decodeRawLzma2('t', packed, 19, data.length + 1))).message).toMatch(
      /output is 300000 bytes, declared 300001/,
    );
  });

  it('decodes into a lent buffer of garbage exactly, refuses a truncation there too, and a wrong-length one', async () => {
    const data = sample(300_000);
    const packed = await encodeRawLzma2(data, TUNING, 19);
    const lent = Buffer.alloc(data.length, 0xa5);
    const made = await decodeRawLzma2('t', packed, 19, data.length, lent);
    expect(made.buffer).toBe(lent.buffer);
    expect(made.equals(data)).toBe(true);
    lent.fill(0x5a);
    await expectBlobError(decodeRawLzma2('t', packed.subarray(0, packed.length >> 1), 19, data.length, lent));
    await expect(decodeRawLzma2('t', packed, 19, data.length, Buffer.alloc(data.length + 1))).rejects.toThrow(
      RangeError,
    );
  });

  it('stops 32 MiB of zeros declared as 64 KiB without holding more than a slice of it', async () => {
    const bomb = await encodeRawLzma2(Buffer.alloc(32 * MiB), TUNING, 16);
    const before = process.memoryUsage();
    expect((await expectBlobError(decodeRawLzma2('t', bomb, 16, 64 * 1024))).message).toMatch(/exceeds/);
    const after = process.memoryUsage();
    expect(after.arrayBuffers + after.external - (before.arrayBuffers + before.external)).toBeLessThan(16 * MiB);
  });

  it('refuses bytes after the end of the stream (raw LZMA2 and xz), even when xz container checks pass', async () => {
    const data = sample(5000);
    const packed = await encodeRawLzma2(data, TUNING, 13);
    for (const extra of [1, 16])
      expect(
        (await expectBlobError(decodeRawLzma2('t', Buffer.concat([packed, Buffer.alloc(extra, 0x41)]), 13, 5000)))
          .message,
      ).toMatch(`the stream ends after ${packed.length} of its ${packed.length + extra} bytes`);
    const xz = execFileSync('xz', ['-c', '--check=crc64'], { input: data });
    const garbage = Buffer.concat([xz, Buffer.from('garbage')]);
    expect(() => decodeCapped('xz', xzStreamDecoder(1 << 24), garbage, 5000, evenSlices(garbage.length, 512))).toThrow(
      /the stream ends after/,
    );
    // Two streams under one outer index and footer: the container checks see one stream of two blocks.
    expect((await expectBlobError(new XzDecoder().decode(twoStreamsAsOne(), 10_000, 16 << 20))).message).toMatch(
      /the stream ends after/,
    );
  });
});

/** xz stream A, then stream B's header and block, then an index listing both blocks and a footer for it. */
function twoStreamsAsOne(): Buffer {
  const a = execFileSync('xz', ['-c', '--check=crc64'], { input: Buffer.alloc(10_000, 0x41) });
  const b = execFileSync('xz', ['-c', '--check=crc64'], { input: Buffer.alloc(10_000, 0x42) });
  const bFooter = b.length - 12;
  const bIndexAt = bFooter - (b.readUInt32LE(bFooter + 4) + 1) * 4;
  let at = bIndexAt + 2; // indicator, record count (1)
  const varintAt = (): number => {
    let n = 0;
    for (let scale = 1; ; scale *= 128) {
      const x = b[at++]!;
      n += (x & 0x7f) * scale;
      if ((x & 0x80) === 0) return n;
    }
  };
  const bUnpadded = varintAt();
  const bUncompressed = varintAt();
  const prefix = Buffer.concat([a, b.subarray(0, 12)]);
  const varint = (n: number): number[] => {
    const out: number[] = [];
    for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
    return [...out, n];
  };
  const record = [0x00, ...varint(2), ...varint(prefix.length - 12), ...varint(10_000), ...varint(bUnpadded)];
  const fields = [...record, ...varint(bUncompressed)];
  while (fields.length % 4) fields.push(0);
  const index = Buffer.concat([Buffer.from(fields), Buffer.alloc(4)]);
  index.writeUInt32LE(crc32(index.subarray(0, fields.length)) >>> 0, fields.length);
  const footer = Buffer.alloc(12);
  footer.writeUInt32LE(index.length / 4 - 1, 4);
  footer[8] = b[6]!;
  footer[9] = b[7]!;
  footer.write('YZ', 10, 'latin1');
  footer.writeUInt32LE(crc32(footer.subarray(4, 10)) >>> 0, 0);
  return Buffer.concat([prefix, b.subarray(12, bIndexAt), index, footer]);
}
