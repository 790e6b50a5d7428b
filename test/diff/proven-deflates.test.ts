// ProvenDeflates: the build's self-check reuses the re-deflations the deflate-aware differ proved
// for the chunk it diffed, and nothing else does: an apply on the same thread right after
// re-deflates everything. Shown by planting wrong bytes under a proven key: only a self-check
// sees them (and its compare with the new data is what refuses them).

import { describe, expect, it } from 'vitest';
import { DeflateAwareDiffer } from '../../src/diff/deflate-aware-differ.js';
import { readDeflateAwareHeader } from '../../src/diff/deflate-aware-patch.js';
import { DeflateAwarePatcher } from '../../src/diff/deflate-aware-patcher.js';
import { provenDeflates } from '../../src/diff/proven-deflates.js';
import { textLike } from '../codecs/sample-data.js';
import { zipArchive, type ZipMember } from '../helpers/zip-archive.js';

const patcher = new DeflateAwarePatcher();

/** An old and a new zip whose first member was edited (level 6), and the new member's bytes. */
function zipPair(): { source: Buffer; target: Buffer; edited: Buffer } {
  const a = textLike(30_000, 11);
  const b = textLike(20_000, 12);
  const edited = Buffer.concat([a.subarray(0, 10_000), Buffer.from('/* v2 */'), a.subarray(10_000)]);
  const zip = (first: Buffer): Buffer =>
    zipArchive([
      { name: 'lib/a.js', data: first, level: 6 },
      { name: 'lib/b.js', data: b, level: 9 },
    ] satisfies ZipMember[]);
  return { source: zip(a), target: zip(edited), edited };
}

describe('proven re-deflations', () => {
  it('a self-check takes the bytes the differ proved for the chunk; an apply, even right after on the same thread, re-deflates', async () => {
    const { source, target, edited } = zipPair();
    const differ = new DeflateAwareDiffer();
    const patch = await differ.diff(source, target);
    const memory = differ.patchDecoderMemoryBytes(patch, source.length, target.length);
    const segment = readDeflateAwareHeader(patch, source.length, target.length).header.segments.find(
      (s) => s.kind === 'deflate',
    );
    expect(segment?.kind).toBe('deflate');
    if (segment?.kind !== 'deflate') return;
    // The first member's data: after its 30-byte local header and its name.
    const streamAt = 30 + 'lib/a.js'.length;

    // As proven, the self-check reproduces the target.
    const checked = await provenDeflates.selfChecking(() => patcher.patch(source, patch, target.length, memory));
    expect(checked.equals(target)).toBe(true);

    // Plant wrong bytes under the edited stream's key (same inflated bytes, same parameters).
    const planted = Buffer.alloc(segment.deflatedBytes, 0x55);
    provenDeflates.record(edited, { params: segment.params }, planted);
    const applied = await patcher.patch(source, patch, target.length, memory);
    expect(applied.equals(target)).toBe(true);
    const inCheck = await provenDeflates.selfChecking(() => patcher.patch(source, patch, target.length, memory));
    expect(inCheck.equals(target)).toBe(false);
    expect(inCheck.subarray(streamAt, streamAt + planted.length).equals(planted)).toBe(true);

    // Other parameters, other inflated bytes or another length are other keys.
    const other = { ...segment.params, level: segment.params.level === 9 ? 8 : 9 };
    await provenDeflates.selfChecking(async () => {
      expect(provenDeflates.lookup(edited, { params: segment.params }, planted.length)).toBe(planted);
      expect(provenDeflates.lookup(edited, { params: other }, planted.length)).toBeUndefined();
      expect(provenDeflates.lookup(edited.subarray(1), { params: segment.params }, planted.length)).toBeUndefined();
      expect(provenDeflates.lookup(edited, { params: segment.params }, planted.length + 1)).toBeUndefined();
    });
    expect(provenDeflates.lookup(edited, { params: segment.params }, planted.length)).toBeUndefined();

    // Another chunk drops them: the self-check re-deflates again.
    provenDeflates.begin(Buffer.alloc(4096));
    const afterOther = await provenDeflates.selfChecking(() => patcher.patch(source, patch, target.length, memory));
    expect(afterOther.equals(target)).toBe(true);
  });
});
