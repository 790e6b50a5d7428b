// Round trips, determinism and memory estimates for every registered codec.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allCodecs } from './codec-pairs.js';
import { elfChunk, randomBytes, textLike, zeroBlock } from './sample-data.js';

const MiB = 1024 * 1024;

describe.each(allCodecs().map((codec) => [codec.name, codec] as const))('%s codec', (_name, codec) => {
  const inputs: [string, Buffer][] = [
    ['a 4096-byte zero block', zeroBlock()],
    ['1 MiB of random bytes', randomBytes(MiB)],
    ['256 KiB of text', textLike(256 * 1024)],
    ['1 MiB of an ELF binary', elfChunk(MiB)],
    ['no bytes', Buffer.alloc(0)],
  ];

  it.each(inputs)('round-trips %s at the default level', async (_label, data) => {
    const encoded = await codec.encode(data, codec.defaultLevel);
    const decoded = await codec.decode(encoded, data.length);
    expect(decoded.equals(data)).toBe(true);
  });

  it('decodes into a buffer the caller gives (an applier reuses its own), and refuses one of another size', async () => {
    const data = textLike(256 * 1024, 12);
    const encoded = await codec.encode(data, codec.defaultLevel);
    const into = Buffer.alloc(data.length, 0xa5);
    const decoded = await codec.decode(encoded, data.length, undefined, into);
    expect(decoded).toBe(into);
    expect(into.equals(data)).toBe(true);
    await expect(codec.decode(encoded, data.length, undefined, Buffer.alloc(data.length + 1))).rejects.toThrow(
      RangeError,
    );
  });

  it('round-trips at its minimum and maximum levels', async () => {
    const data = textLike(64 * 1024, 9);
    for (const level of [codec.minLevel, codec.maxLevel]) {
      const decoded = await codec.decode(await codec.encode(data, level), data.length);
      expect(decoded.equals(data)).toBe(true);
    }
  });

  it('compresses compressible data (except none)', async () => {
    const data = textLike(256 * 1024);
    const encoded = await codec.encode(data, codec.defaultLevel);
    if (codec.name === 'none') expect(encoded.length).toBe(data.length);
    else expect(encoded.length).toBeLessThan(data.length / 2);
  });

  it('is deterministic: the same input and level give the same bytes', async () => {
    const data = elfChunk(256 * 1024, 4 << 20);
    const first = await codec.encode(data, codec.defaultLevel);
    const second = await codec.encode(Buffer.from(data), codec.defaultLevel);
    expect(second.equals(first)).toBe(true);
  });

  it('round-trips random buffers at random levels (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 8192 }),
        fc.integer({ min: codec.minLevel, max: codec.maxLevel }),
        async (data, level) => {
          const decoded = await codec.decode(await codec.encode(data, level), data.length);
          expect(Buffer.compare(decoded, data)).toBe(0);
        },
      ),
      { numRuns: 50, seed: 20240601 },
    );
  });

  it('decodes within the decoder memory it declares, at every level and size (property)', async () => {
    // The device refuses a stream that needs more than its op declares (brotli's fast qualities
    // write a window of 2^18 whatever they are asked for).
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 96 * 1024 }),
        fc.integer({ min: codec.minLevel, max: codec.maxLevel }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (sizeBytes, level, seed) => {
          const data = textLike(sizeBytes, seed);
          const memory = codec.decoderMemoryBytes(level, sizeBytes);
          const decoded = await codec.decode(await codec.encode(data, level), sizeBytes, memory);
          expect(Buffer.compare(decoded, data)).toBe(0);
        },
      ),
      { numRuns: 40, seed: 20261207, examples: [[4096, codec.minLevel, 1]] },
    );
  });

  it('states a decoder memory that covers the window it uses', () => {
    const memory = codec.decoderMemoryBytes(codec.defaultLevel, MiB);
    if (codec.name === 'none') expect(memory).toBe(0);
    else if (codec.name === 'gzip') expect(memory).toBeGreaterThanOrEqual(32 * 1024);
    else expect(memory).toBeGreaterThanOrEqual(MiB);
    expect(memory).toBeLessThan(4 * MiB);
    // Small inputs need small decoders (the window shrinks with the input).
    expect(codec.decoderMemoryBytes(codec.defaultLevel, 4096)).toBeLessThan(512 * 1024);
  });
});
