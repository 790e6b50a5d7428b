// The bsdf2 differ against the BSDF2 layout (Android bsdiff's header, compressor ids 1 = bzip2,
// 2 = brotli), against bsdiff's own patches, and against crafted hostile BSDF2 patches.

import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Bsdf2Differ } from '../../src/diff/bsdf2-differ.js';
import { BsdiffDiffer } from '../../src/diff/bsdiff-differ.js';
import { expectBlobError } from '../codecs/expect-blob-error.js';
import { editedCopy, elfChunk, randomBytes, textLike } from '../codecs/sample-data.js';
import { craftBsdiffPatch, offt } from './bzip2-test-encoder.js';
import { pairDiffer } from './differ-pairs.js';

const MiB = 1024 * 1024;
const bsdf2 = pairDiffer(new Bsdf2Differ());
const bsdiff = pairDiffer(new BsdiffDiffer());

/** A BSDF2 patch from explicit control tuples and blocks, each compressed with brotli. */
function craftBrotliPatch(
  newSizeBytes: number,
  tuples: readonly [number, number, number][],
  diff: Uint8Array,
  extra: Uint8Array,
): Buffer {
  const ctrl = zlib.brotliCompressSync(Buffer.concat(tuples.flatMap(([x, y, z]) => [offt(x), offt(y), offt(z)])));
  const d = zlib.brotliCompressSync(diff);
  const e = zlib.brotliCompressSync(extra);
  const header = Buffer.concat([
    Buffer.from('BSDF2'),
    Buffer.from([2, 2, 2]),
    offt(ctrl.length),
    offt(d.length),
    offt(newSizeBytes),
  ]);
  return Buffer.concat([header, ctrl, d, e]);
}

describe('bsdf2 differ', () => {
  const elf = elfChunk(MiB);
  const target = editedCopy(elf, 51);

  it('writes the BSDF2 header: magic, three compressor ids, lengths and the new size', async () => {
    const patch = await bsdf2.diff(elf, target);
    expect(patch.subarray(0, 5).toString('latin1')).toBe('BSDF2');
    for (const id of patch.subarray(5, 8)) expect([1, 2]).toContain(id);
    expect(patch.readBigUInt64LE(24)).toBe(BigInt(target.length));
    expect(32 + Number(patch.readBigUInt64LE(8)) + Number(patch.readBigUInt64LE(16))).toBeLessThan(patch.length);
  });

  it('is never larger than the bsdiff patch of the same inputs, and smaller on firmware-like data', async () => {
    for (const [source, next] of [
      [elf, target],
      [textLike(256 * 1024, 52), editedCopy(textLike(256 * 1024, 52), 53, 300, 50)],
      [randomBytes(4096, 54), randomBytes(4096, 55)],
    ] as const) {
      const a = await bsdf2.diff(source, next);
      const b = await bsdiff.diff(source, next);
      expect(a.length).toBeLessThanOrEqual(b.length);
    }
    expect((await bsdf2.diff(elf, target)).length).toBeLessThan((await bsdiff.diff(elf, target)).length);
  });

  it('a BSDIFF40 patch re-headed as BSDF2 with three bzip2 blocks applies to the same bytes', async () => {
    const legacy = await bsdiff.diff(elf, target);
    const reheaded = Buffer.concat([Buffer.from('BSDF2'), Buffer.from([1, 1, 1]), legacy.subarray(8)]);
    expect((await bsdf2.patch(elf, reheaded, target.length)).equals(target)).toBe(true);
  });

  it('applies a hand-made brotli patch (the layout is what the test encoder writes)', async () => {
    const source = randomBytes(1000, 56);
    const result = await bsdf2.patch(
      source,
      craftBrotliPatch(15, [[10, 5, 0]], Buffer.alloc(10, 1), Buffer.from('hello')),
      15,
    );
    expect(result.subarray(0, 10).equals(source.subarray(0, 10).map((b) => (b + 1) & 0xff))).toBe(true);
    expect(result.subarray(10).toString()).toBe('hello');
  });

  it.each([
    [
      'a negative add length',
      [
        [-4294967291, 0, 0],
        [20, 0, 0],
      ] as [number, number, number][],
    ],
    ['an add past the end', [[64 * MiB, 0, 0]] as [number, number, number][]],
    ['a copy past the end', [[5, 16, 0]] as [number, number, number][]],
    ['too few tuples', [[5, 5, 0]] as [number, number, number][]],
  ])('rejects %s in a brotli control block', async (_label, tuples) => {
    await expectBlobError(
      bsdf2.patch(randomBytes(1000, 57), craftBrotliPatch(20, tuples, Buffer.alloc(10), Buffer.alloc(10)), 20),
    );
  });

  it('rejects unknown compressor ids, bad magic and header lengths outside the patch', async () => {
    const source = randomBytes(1000, 58);
    const good = craftBrotliPatch(15, [[10, 5, 0]], Buffer.alloc(10), Buffer.from('hello'));
    const at = (offset: number, bytes: Buffer) =>
      Buffer.concat([good.subarray(0, offset), bytes, good.subarray(offset + bytes.length)]);
    for (const id of [0, 3, 255])
      for (const offset of [5, 6, 7]) await expectBlobError(bsdf2.patch(source, at(offset, Buffer.from([id])), 15));
    await expectBlobError(bsdf2.patch(source, at(0, Buffer.from('BSDF3')), 15));
    await expectBlobError(
      bsdf2.patch(source, craftBsdiffPatch(15, [[10, 5, 0]], Buffer.alloc(10), Buffer.from('hello')), 15),
    );
    await expectBlobError(bsdf2.patch(source, at(8, offt(-1)), 15));
    await expectBlobError(bsdf2.patch(source, at(16, offt(good.length)), 15));
    await expectBlobError(bsdf2.patch(source, at(24, offt(16)), 15));
    expect((await bsdf2.patch(source, good, 15)).length).toBe(15);
  });

  it('stops a brotli extra block that expands far past the declared size', async () => {
    const extra = zlib.brotliCompressSync(Buffer.alloc(64 * MiB));
    const ctrl = zlib.brotliCompressSync(Buffer.concat([offt(0), offt(MiB), offt(0)]));
    const d = zlib.brotliCompressSync(Buffer.alloc(0));
    const bomb = Buffer.concat([
      Buffer.from('BSDF2'),
      Buffer.from([2, 2, 2]),
      offt(ctrl.length),
      offt(d.length),
      offt(MiB),
      ctrl,
      d,
      extra,
    ]);
    const before = process.memoryUsage();
    await expectBlobError(bsdf2.patch(randomBytes(4096, 59), bomb, MiB));
    const after = process.memoryUsage();
    expect(after.arrayBuffers + after.external - (before.arrayBuffers + before.external)).toBeLessThan(16 * MiB);
  });
});
