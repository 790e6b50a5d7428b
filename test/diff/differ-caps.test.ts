// Hostile and damaged patches: wrong declared sizes, bombs, truncation, bit flips and crafted
// BSDIFF40 control data must end in PackageFormatError (exit 4), never a crash or huge buffer.

import { describe, expect, it } from 'vitest';
import { BsdiffDiffer } from '../../src/diff/bsdiff-differ.js';
import { allDifferPairs as allDiffers, pairDiffer } from './differ-pairs.js';
import { expectBlobError } from '../codecs/expect-blob-error.js';
import { editedCopy, flipBit, prng, randomBytes, textLike } from '../codecs/sample-data.js';
import { craftBsdiffPatch, offt } from './bzip2-test-encoder.js';

const MiB = 1024 * 1024;

describe.each(allDiffers().map((differ) => [differ.name, differ] as const))('%s patch caps', (_name, differ) => {
  const source = textLike(64 * 1024, 41);
  const target = editedCopy(source, 42, 100, 30);

  it('rejects a declared size smaller or larger than the target', async () => {
    const patch = await differ.diff(source, target);
    for (const size of [target.length - 1, 1000, 0, target.length + 1])
      await expectBlobError(differ.patch(source, patch, size));
    for (const bad of [-1, 0.5, Number.NaN, 2 ** 60]) await expectBlobError(differ.patch(source, patch, bad));
  });

  // 32 MiB: twice the buffer growth allowed below, so a patcher that kept its output past the
  // declared size would fail the check (besides the refusal itself, which is asserted first).
  it('stops a patch that makes 32 MiB when 1 MiB is declared', async () => {
    const bomb = await differ.diff(randomBytes(4096, 43), Buffer.alloc(32 * MiB));
    expect(bomb.length).toBeLessThan(MiB);
    const before = process.memoryUsage();
    await expectBlobError(differ.patch(randomBytes(4096, 43), bomb, MiB));
    const after = process.memoryUsage();
    expect(after.arrayBuffers + after.external - (before.arrayBuffers + before.external)).toBeLessThan(16 * MiB);
  });

  it('rejects every truncation', async () => {
    const patch = await differ.diff(source, target);
    for (const cut of new Set([0, 1, 8, 31, 33, Math.floor(patch.length / 2), patch.length - 1])) {
      await expectBlobError(differ.patch(source, patch.subarray(0, cut), target.length));
    }
  });

  // bsdf2's brotli blocks and bsdiff-lzma's raw LZMA2 blocks (also deflate-aware's and exec-aware's inner patch)
  // carry no checksum (unlike bzip2's CRCs and zstd's XXH64), so a flip there can patch to other
  // bytes of the declared size; the package's blob sha256 catches that before decoding (as for
  // the brotli codec).
  const hasIntegrityCheck = !['bsdf2', 'bsdiff-lzma', 'deflate-aware', 'exec-aware'].includes(differ.name);

  it(
    hasIntegrityCheck
      ? 'rejects a bit-flipped patch or applies it to the exact target (seeded)'
      : 'never crashes on a bit-flipped patch and never exceeds the declared size (seeded)',
    async () => {
      const patch = await differ.diff(source, target);
      const next = prng(44);
      let rejected = 0;
      const trials = 150;
      for (let trial = 0; trial < trials; trial++) {
        const bit = Math.floor(next() * patch.length * 8);
        const outcome = await differ.patch(source, flipBit(patch, bit), target.length).then(
          (out) => out,
          (e: unknown) => e,
        );
        if (outcome instanceof Buffer) {
          expect(outcome.length).toBe(target.length);
          if (hasIntegrityCheck) expect(outcome.equals(target), `bit ${bit} (seed 44, trial ${trial})`).toBe(true);
        } else {
          await expectBlobError(Promise.reject(outcome));
          rejected += 1;
        }
      }
      // Without a checksum most flips inside an LZMA2 or brotli body still decode to the declared
      // size; the header and framing checks catch the rest.
      expect(rejected).toBeGreaterThan(trials * (hasIntegrityCheck ? 0.9 : differ.name === 'bsdf2' ? 0.5 : 0.25));
    },
  );
});

describe('bsdiff crafted patches', () => {
  const bsdiff = pairDiffer(new BsdiffDiffer());
  const source = randomBytes(1000, 45);

  it('applies a hand-made patch (the test encoder matches the format)', async () => {
    const diff = Buffer.alloc(10, 1);
    const extra = Buffer.from('hello');
    const patch = craftBsdiffPatch(15, [[10, 5, 0]], diff, extra);
    const result = await bsdiff.patch(source, patch, 15);
    expect(result.subarray(0, 10).equals(source.subarray(0, 10).map((b) => (b + 1) & 0xff))).toBe(true);
    expect(result.subarray(10).toString()).toBe('hello');
  });

  it.each([
    [
      'a negative add length (CVE-2014-9862)',
      [
        [-4294967291, 0, 0],
        [20, 0, 0],
      ] as [number, number, number][],
    ],
    [
      'a negative copy length',
      [
        [0, -5, 0],
        [20, 0, 0],
      ] as [number, number, number][],
    ],
    ['an add past the end', [[64 * MiB, 0, 0]] as [number, number, number][]],
    ['a copy past the end', [[5, 16, 0]] as [number, number, number][]],
    ['too few tuples', [[5, 5, 0]] as [number, number, number][]],
    ['an add longer than the diff block', [[20, 0, 0]] as [number, number, number][]],
    [
      'a seek out of range',
      [
        [5, 0, 2 ** 47],
        [5, 0, 2 ** 47],
        [10, 0, 0],
      ] as [number, number, number][],
    ],
  ])('rejects %s', async (_label, tuples) => {
    const patch = craftBsdiffPatch(20, tuples, Buffer.alloc(10), Buffer.alloc(10));
    await expectBlobError(bsdiff.patch(source, patch, 20));
  });

  it('rejects header lengths that are negative, huge or beyond the patch, and a wrong magic', async () => {
    const good = craftBsdiffPatch(15, [[10, 5, 0]], Buffer.alloc(10), Buffer.from('hello'));
    const withField = (offset: number, value: Buffer): Buffer =>
      Buffer.concat([good.subarray(0, offset), value, good.subarray(offset + 8)]);
    await expectBlobError(bsdiff.patch(source, withField(8, offt(-1)), 15));
    await expectBlobError(bsdiff.patch(source, withField(16, offt(good.length)), 15));
    await expectBlobError(bsdiff.patch(source, withField(8, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x7f])), 15));
    await expectBlobError(bsdiff.patch(source, withField(24, offt(64 * MiB)), 15));
    await expectBlobError(bsdiff.patch(source, Buffer.concat([Buffer.from('BSDIFF41'), good.subarray(8)]), 15));
    expect((await bsdiff.patch(source, good, 15)).length).toBe(15);
  });
});
