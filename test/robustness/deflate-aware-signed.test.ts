// Hostile deflate-aware (differ id 5) blobs inside validly signed packages (the signer is trusted,
// the blob sha256 matches, so only the patcher's own checks stand): zlib parameters out of range,
// a lying inflated size, an old stream outside the source and a patch needing more memory than
// its op declares are refused by verify --old and apply with BLOB_DECODE_FAILED (exit 4), with
// no memory spike; the untouched patch applies. So are hostile recipes (format 1.7): cut short,
// a rank with no chain entry, over-subscribed code lengths, bytes after the end, a lying length.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPackage } from '../../src/index.js';
import { BsdiffLzmaDiffer } from '../../src/diff/bsdiff-lzma-differ.js';
import { applyBsdiffLzmaPatch } from '../../src/diff/bsdiff-lzma-patch.js';
import { DeflateAwareDiffer } from '../../src/diff/deflate-aware-differ.js';
import {
  expandedTargetBytes,
  readDeflateAwareHeader,
  writeDeflateAwarePatch,
  type DeflateAwareHeader,
  type DeflateAwareSegment,
} from '../../src/diff/deflate-aware-patch.js';
import { elfChunk, textLike } from '../codecs/sample-data.js';
import { wholeImageDiffCase, type HostilePatch } from '../helpers/one-op-package.js';
import { filteredRaw, zipArchive, zlibWrapped, type ZipMember } from '../helpers/zip-archive.js';

const work = mkdtempSync(join(tmpdir(), 'ota-deflate-signed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const BLOCK = 4096;
const IMAGE_BYTES = 64 * BLOCK;

function image(edit: boolean): Buffer {
  const members: ZipMember[] = Array.from({ length: 6 }, (_, i) => {
    const data = textLike(30_000, 90 + i);
    if (edit && i === 3) data.write('EDITED', 12_345);
    return { name: `assets/a${i}.txt`, data, level: 6 };
  });
  const out = Buffer.alloc(IMAGE_BYTES);
  zipArchive(members).copy(out);
  return out;
}

const oldImage = image(false);
const newImage = image(true);
const { oldPath, packageOf, expectAllRefused } = wholeImageDiffCase(work, 'deflate-aware', oldImage, newImage);

describe('signed packages with hostile deflate-aware blobs', () => {
  const differ = new DeflateAwareDiffer();

  it('applies the untouched patch, and refuses each hostile variant with exit 4', async () => {
    const patch = await differ.diff(oldImage, newImage);
    const memory = differ.patchDecoderMemoryBytes(patch, oldImage.length, newImage.length);
    const { header, innerOffsetBytes } = readDeflateAwareHeader(patch, oldImage.length, newImage.length);
    expect(header.segments.some((s) => s.kind === 'deflate')).toBe(true);
    const inner = patch.subarray(innerOffsetBytes);
    const good = await packageOf('good', patch, memory);
    await applyPackage({ packagePath: good, oldPath, outputPath: join(work, 'good.img') });

    const segment = (
      h: DeflateAwareHeader,
      f: (s: Extract<DeflateAwareHeader['segments'][number], { kind: 'deflate' }>) => object,
    ) => ({
      ...h,
      segments: h.segments.map((s) => (s.kind === 'deflate' ? { ...s, ...f(s) } : s)),
    });
    const hostile: HostilePatch[] = [
      [
        'level 12',
        writeDeflateAwarePatch(
          segment(header, (s) => ({ params: { ...s.params, level: 12 } })),
          inner,
        ),
        memory,
      ],
      [
        'strategy 3',
        writeDeflateAwarePatch(
          segment(header, (s) => ({ params: { ...s.params, strategy: 3 } })),
          inner,
        ),
        memory,
      ],
      [
        'inflated size lies',
        writeDeflateAwarePatch(
          segment(header, (s) => ({ inflatedBytes: s.inflatedBytes + 7 })),
          inner,
        ),
        memory,
      ],
      [
        'old stream outside the source',
        writeDeflateAwarePatch(
          { ...header, oldStreams: header.oldStreams.map((o) => ({ ...o, sourceOffsetBytes: IMAGE_BYTES - 8 })) },
          inner,
        ),
        memory,
      ],
      [
        'old stream inflates to 1 GiB',
        writeDeflateAwarePatch(
          { ...header, oldStreams: header.oldStreams.map((o) => ({ ...o, inflatedBytes: 1 << 30 })) },
          inner,
        ),
        memory,
      ],
      ['memory under what the header needs', patch, memory - 1],
    ];
    await expectAllRefused(hostile);
  }, 120_000);
});

describe('signed packages with hostile deflate-aware recipes (format 1.7)', () => {
  // Four zlib streams of much the same data that no zlib parameter set reproduces (the filtered
  // strategy is never searched), over an old image of other bytes: the op re-makes them from recipes.
  const dir = join(work, 'recipes');
  mkdirSync(dir);
  const shared = Buffer.concat([textLike(6000, 70), elfChunk(14_000)]);
  const streams = [1, 2, 3, 4].map((i) => zlibWrapped(filteredRaw(Buffer.concat([textLike(300, i), shared]))));
  const oldRecipes = Buffer.alloc(IMAGE_BYTES, 0x33);
  const newRecipes = Buffer.alloc(IMAGE_BYTES);
  Buffer.concat(streams).copy(newRecipes, 4096);
  const recipeCase = wholeImageDiffCase(dir, 'deflate-aware', oldRecipes, newRecipes);

  it('applies the untouched patch, and refuses each hostile recipe with exit 4', async () => {
    const differ = new DeflateAwareDiffer();
    const patch = await differ.diff(oldRecipes, newRecipes);
    const { header, innerOffsetBytes } = readDeflateAwareHeader(patch, oldRecipes.length, newRecipes.length);
    expect(header.segments.filter((s) => s.kind === 'recipe')).toHaveLength(4);
    expect(header.oldStreams).toHaveLength(0);
    const memory = differ.patchDecoderMemoryBytes(patch, oldRecipes.length, newRecipes.length);
    const good = await recipeCase.packageOf('good', patch, memory);
    await applyPackage({ packagePath: good, oldPath: recipeCase.oldPath, outputPath: join(dir, 'good.img') });

    // The expanded target, and a patch whose first recipe is replaced by `recipe`.
    const expanded = await applyBsdiffLzmaPatch(
      oldRecipes,
      patch.subarray(innerOffsetBytes),
      expandedTargetBytes(header.segments),
    );
    const firstRecipe = header.segments.findIndex((s) => s.kind === 'recipe');
    const recipesAt = header.segments.reduce((n, s) => n + (s.kind === 'raw' ? s.sizeBytes : s.inflatedBytes), 0);
    const withRecipe = async (recipe: Uint8Array): Promise<Buffer> => {
      const first = header.segments[firstRecipe] as Extract<DeflateAwareSegment, { kind: 'recipe' }>;
      const segments = header.segments.map((s, i) =>
        i === firstRecipe ? { ...first, recipeBytes: recipe.length } : s,
      );
      const target = Buffer.concat([
        expanded.subarray(0, recipesAt),
        recipe,
        expanded.subarray(recipesAt + first.recipeBytes),
      ]);
      const inner = await new BsdiffLzmaDiffer().diff(oldRecipes, target);
      return writeDeflateAwarePatch({ ...header, segments }, inner);
    };
    const first = expanded.subarray(
      recipesAt,
      recipesAt + (header.segments[firstRecipe] as { recipeBytes: number }).recipeBytes,
    );
    // A fixed block whose first token is a match of rank 200 at byte 5: no such chain entry.
    const noRank = Uint8Array.from([3, 5, 201, 0, 0]);
    // A dynamic header with 19 code-length code lengths of 1: over-subscribed.
    const overSubscribed = Uint8Array.from([5, 0, 0, 15, ...new Array(19).fill(1)]);
    const hostile: HostilePatch[] = [
      ['recipe cut short', await withRecipe(first.subarray(0, first.length >> 1)), memory],
      ['rank with no chain entry', await withRecipe(noRank), memory],
      ['over-subscribed code lengths', await withRecipe(overSubscribed), memory],
      ['recipe with a byte after its end', await withRecipe(Buffer.concat([first, Buffer.from([0])])), memory],
      [
        'recipe length lies',
        writeDeflateAwarePatch(
          {
            ...header,
            segments: header.segments.map((s) => (s.kind === 'recipe' ? { ...s, recipeBytes: s.recipeBytes + 1 } : s)),
          },
          patch.subarray(innerOffsetBytes),
        ),
        memory,
      ],
    ];
    await recipeCase.expectAllRefused(hostile);
  }, 120_000);
});
