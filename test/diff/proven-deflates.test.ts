// ProvenDeflates: the build's self-check reuses the re-deflations the deflate-aware differ proved
// for the chunk it diffed (for streams over 64 KiB inflated; smaller ones it re-makes), and only
// the self-check does: an apply, given no proven re-deflations, re-deflates everything. Shown by
// planting wrong bytes under a proven key. The reuse is sound because re-deflating is a function
// of its inputs alone, whatever ran before on the thread (their state is reused between calls):
// zlib-deflate.test.ts and deflate-recipe.test.ts check that.

import { describe, expect, it } from 'vitest';
import { DeflateAwareDiffer } from '../../src/diff/deflate-aware-differ.js';
import { readDeflateAwareHeader } from '../../src/diff/deflate-aware-patch.js';
import { DeflateAwarePatcher } from '../../src/diff/deflate-aware-patcher.js';
import { provenDeflates } from '../../src/diff/proven-deflates.js';
import { proveKept } from '../../src/pipeline/self-check.js';
import { textLike } from '../codecs/sample-data.js';
import { zipArchive, type ZipMember } from '../helpers/zip-archive.js';

const patcher = new DeflateAwarePatcher();

/** `data` with 8 bytes inserted at `at`. */
const edit = (data: Buffer, at: number) =>
  Buffer.concat([data.subarray(0, at), Buffer.from('/* v2 */'), data.subarray(at)]);

describe('proven re-deflations', () => {
  it('a self-check takes the bytes the differ proved for large streams, and re-makes small ones; an apply re-deflates all', async () => {
    const a = textLike(200_000, 11);
    const b = textLike(20_000, 12);
    const zip = (first: Buffer, second: Buffer): Buffer =>
      zipArchive([
        { name: 'lib/a.js', data: first, level: 6 },
        { name: 'lib/b.js', data: second, level: 9 },
      ] satisfies ZipMember[]);
    const [newA, newB] = [edit(a, 10_000), edit(b, 5000)];
    const source = zip(a, b);
    const target = zip(newA, newB);
    const differ = new DeflateAwareDiffer();
    const patch = await differ.diff(source, target);
    const memory = differ.patchDecoderMemoryBytes(patch, source.length, target.length);
    const segments = readDeflateAwareHeader(patch, source.length, target.length).header.segments;
    const [segA, segB] = segments.filter((s) => s.kind === 'deflate');
    if (segA?.kind !== 'deflate' || segB?.kind !== 'deflate') throw new Error('expected two deflate segments');
    expect([segA.inflatedBytes, segB.inflatedBytes]).toEqual([newA.length, newB.length]);
    const withProven = () => patcher.patch(source, patch, target.length, memory, undefined, { proven: provenDeflates });
    const applied = () => patcher.patch(source, patch, target.length, memory);
    // Member a's data follows its 30-byte local header and name.
    const aAt = 30 + 'lib/a.js'.length;

    expect((await withProven()).equals(target)).toBe(true);

    // Wrong bytes under a's key (a large stream): only the self-check's patch sees them.
    const plantedA = Buffer.alloc(segA.deflatedBytes, 0x55);
    provenDeflates.record(newA, { params: segA.params }, plantedA);
    expect((await applied()).equals(target)).toBe(true);
    const seen = await withProven();
    expect(seen.equals(target)).toBe(false);
    expect(seen.subarray(aAt, aAt + plantedA.length).equals(plantedA)).toBe(true);

    // Under b's key (20 KB, re-made anyway) they are never used.
    provenDeflates.record(newA, { params: segA.params }, target.subarray(aAt, aAt + segA.deflatedBytes));
    provenDeflates.record(newB, { params: segB.params }, Buffer.alloc(segB.deflatedBytes, 0x55));
    expect((await withProven()).equals(target)).toBe(true);

    // The build's self-check (proveKept) is what hands them in: wrong bytes under a's key fail it.
    const candidate = {
      spec: { kind: 'diff', differ: 'deflate-aware' } as const,
      bytes: patch,
      decoderMemoryBytes: memory,
    };
    const chunk = { newData: target, sourceData: source, where: 'the zip chunk' };
    provenDeflates.record(newA, { params: segA.params }, plantedA);
    await expect(proveKept(chunk, [candidate])).rejects.toMatchObject({ code: 'SELF_CHECK_FAILED' });
    provenDeflates.record(newA, { params: segA.params }, target.subarray(aAt, aAt + segA.deflatedBytes));
    expect((await proveKept(chunk, [candidate]))[0]!.selfCheckedBytes).toBe(target.length);

    // Other parameters, other inflated bytes or another length are other keys.
    const other = { ...segA.params, level: segA.params.level === 9 ? 8 : 9 };
    expect(provenDeflates.lookup(newA, { params: segA.params }, segA.deflatedBytes)?.length).toBe(segA.deflatedBytes);
    expect(provenDeflates.lookup(newA, { params: other }, segA.deflatedBytes)).toBeUndefined();
    expect(provenDeflates.lookup(newA.subarray(1), { params: segA.params }, segA.deflatedBytes)).toBeUndefined();
    expect(provenDeflates.lookup(newA, { params: segA.params }, segA.deflatedBytes + 1)).toBeUndefined();

    // Another chunk, or the end of this one, drops them.
    provenDeflates.record(newA, { params: segA.params }, plantedA);
    provenDeflates.begin(Buffer.alloc(4096));
    expect(provenDeflates.lookup(newA, { params: segA.params }, segA.deflatedBytes)).toBeUndefined();
    provenDeflates.record(newA, { params: segA.params }, plantedA);
    provenDeflates.clear();
    expect(provenDeflates.lookup(newA, { params: segA.params }, segA.deflatedBytes)).toBeUndefined();
    provenDeflates.record(newA, { params: segA.params }, plantedA);
    expect(provenDeflates.lookup(newA, { params: segA.params }, segA.deflatedBytes)).toBeUndefined(); // no chunk begun
  });
});
