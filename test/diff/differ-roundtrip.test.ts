// Round trips, determinism and memory statements for every registered differ.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allDifferPairs as allDiffers, pairDiffer } from './differ-pairs.js';
import { ZstdDictDiffer } from '../../src/diff/zstd-dict-differ.js';
import { UsageError } from '../../src/errors/ota-error.js';
import { editedCopy, elfChunk, randomBytes, textLike, zeroBlock } from '../codecs/sample-data.js';

const MiB = 1024 * 1024;

describe.each(allDiffers().map((differ) => [differ.name, differ] as const))('%s differ', (_name, differ) => {
  const random = randomBytes(MiB, 21);
  const text = textLike(256 * 1024, 22);
  const elf = elfChunk(MiB);
  const cases: [string, Buffer, Buffer][] = [
    ['a zero block to itself', zeroBlock(), zeroBlock()],
    ['a zero block to random bytes', zeroBlock(), randomBytes(4096, 23)],
    ['1 MiB random to an edited copy', random, editedCopy(random, 24)],
    ['1 MiB random to unrelated random', random, randomBytes(MiB, 25)],
    ['text to edited text', text, editedCopy(text, 26, 200, 40)],
    ['an ELF chunk to an edited copy', elf, editedCopy(elf, 27)],
    ['nothing to something', Buffer.alloc(0), textLike(1000)],
    ['something to nothing', textLike(1000), Buffer.alloc(0)],
    ['nothing to nothing', Buffer.alloc(0), Buffer.alloc(0)],
  ];

  it.each(cases)('round-trips %s', async (_label, source, target) => {
    const patch = await differ.diff(source, target);
    const result = await differ.patch(source, patch, target.length);
    expect(result.equals(target)).toBe(true);
  });

  it('makes small patches for small edits', async () => {
    const patch = await differ.diff(elf, editedCopy(elf, 28));
    expect(patch.length).toBeLessThan(32 * 1024);
  });

  it('is deterministic: the same inputs give the same patch', async () => {
    const target = editedCopy(elf, 29);
    const first = await differ.diff(elf, target);
    const second = await differ.diff(Buffer.from(elf), Buffer.from(target));
    expect(second.equals(first)).toBe(true);
  });

  it('round-trips random sources and edited or random targets (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 4096 }),
        fc.uint8Array({ maxLength: 4096 }),
        fc.boolean(),
        fc.integer(),
        async (source, other, edit, seed) => {
          const target = edit ? editedCopy(source, seed >>> 0, 20, 10) : Buffer.from(other);
          const result = await differ.patch(source, await differ.diff(source, target), target.length);
          expect(Buffer.compare(result, target)).toBe(0);
        },
      ),
      { numRuns: 50, seed: 20240602 },
    );
  });

  it('states a patcher memory that covers source and target', () => {
    expect(differ.decoderMemoryBytes(MiB, MiB)).toBeGreaterThanOrEqual(2 * MiB);
    // exec-aware states its worst case: region tables for a control block of 3T + 24 bytes
    // (4 bytes per control byte, FORMAT.md §4) on top of bsdiff-lzma's bound.
    expect(differ.decoderMemoryBytes(MiB, MiB)).toBeLessThan(32 * MiB);
  });
});

describe('ZstdDictDiffer options', () => {
  it('takes a level and rejects one out of range', async () => {
    const source = elfChunk(256 * 1024);
    const target = editedCopy(source, 30);
    const fast = pairDiffer(new ZstdDictDiffer({ level: 3 }));
    expect(fast.level).toBe(3);
    expect((await fast.patch(source, await fast.diff(source, target), target.length)).equals(target)).toBe(true);
    expect(pairDiffer(new ZstdDictDiffer()).level).toBe(19);
    for (const level of [0, 23, 2.5]) expect(() => new ZstdDictDiffer({ level })).toThrow(UsageError);
  });

  it('estimates (above level 9 only) with the size of the same frame at level 9', async () => {
    const source = elfChunk(256 * 1024);
    const target = editedCopy(source, 30);
    expect(new ZstdDictDiffer({ level: 9 }).estimate).toBeUndefined();
    const differ = new ZstdDictDiffer();
    const estimate = await differ.estimate!(source, target);
    expect(estimate).toBe((await new ZstdDictDiffer({ level: 9 }).diff(source, target)).length);
  });
});
