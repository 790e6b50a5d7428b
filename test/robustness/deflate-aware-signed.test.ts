// Hostile deflate-aware (differ id 5) blobs inside validly signed packages (the signer is trusted,
// the blob sha256 matches, so only the patcher's own checks stand): zlib parameters out of range,
// a lying inflated size, an old stream outside the source and a patch needing more memory than
// its op declares are refused by verify --old and apply with BLOB_DECODE_FAILED (exit 4), with
// no memory spike; the untouched patch applies.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPackage } from '../../src/index.js';
import { DeflateAwareDiffer } from '../../src/diff/deflate-aware-differ.js';
import {
  readDeflateAwareHeader,
  writeDeflateAwarePatch,
  type DeflateAwareHeader,
} from '../../src/diff/deflate-aware-patch.js';
import { textLike } from '../codecs/sample-data.js';
import { wholeImageDiffCase, type HostilePatch } from '../helpers/one-op-package.js';
import { zipArchive, type ZipMember } from '../helpers/zip-archive.js';

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
