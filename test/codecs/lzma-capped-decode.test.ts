// Raw LZMA2 decoding driven directly (lzma-capped-decode.ts): exact round trips, every truncation
// and a wrong declared size refused with the typed error, a bomb stopped one slice past its cap.
import { describe, expect, it } from 'vitest';
import { decodeRawLzma2, encodeRawLzma2, lzma2DictLogFor } from '../../src/codecs/raw-lzma2.js';
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

  it('stops 32 MiB of zeros declared as 64 KiB without holding more than a slice of it', async () => {
    const bomb = await encodeRawLzma2(Buffer.alloc(32 * MiB), TUNING, 16);
    const before = process.memoryUsage();
    expect((await expectBlobError(decodeRawLzma2('t', bomb, 16, 64 * 1024))).message).toMatch(/exceeds/);
    const after = process.memoryUsage();
    expect(after.arrayBuffers + after.external - (before.arrayBuffers + before.external)).toBeLessThan(16 * MiB);
  });
});
