// openImageRange: an image stored inside a bigger file reads as itself (raw or sparse), and a
// sparse image whose range is cut short fails as truncated instead of reading its neighbour.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ImageError } from '../../src/errors/ota-error.js';
import { openImageRange } from '../../src/image/open-image-range.js';
import { partitionImage, sparseBytes } from '../release-fixtures/partition-images.js';
import { readAll, scratch } from './release-test-kit.js';

const tmp = scratch('ota-range-');
afterAll(() => tmp.cleanup());

describe('openImageRange', () => {
  test('raw and sparse images inside one container read back exactly', async () => {
    const raw = partitionImage('range/raw', 40960);
    const expanded = partitionImage('range/sparse', 65536, 0.5);
    const sparse = await sparseBytes(expanded);
    const before = Buffer.alloc(1000, 0xee);
    const container = Buffer.concat([before, raw, sparse, Buffer.alloc(777, 0xdd)]);
    const path = join(tmp.dir, 'container.bin');
    writeFileSync(path, container);
    const a = await openImageRange(path, before.length, raw.length, 'c:raw');
    expect([a.format, a.sizeBytes, a.path]).toEqual(['raw', raw.length, 'c:raw']);
    expect((await readAll(a)).equals(raw)).toBe(true);
    expect((await a.read(raw.length - 10, 20)).subarray(10).equals(Buffer.alloc(10))).toBe(true);
    await a.close();
    const b = await openImageRange(path, before.length + raw.length, sparse.length, 'c:sparse');
    expect([b.format, b.sizeBytes]).toEqual(['sparse', expanded.length]);
    expect((await readAll(b)).equals(expanded)).toBe(true);
    await b.close();
    const cut = openImageRange(path, before.length + raw.length, sparse.length - 100, 'c:cut');
    await expect(cut).rejects.toBeInstanceOf(ImageError);
    await expect(cut).rejects.toMatchObject({ code: 'SPARSE_TRUNCATED' });
    await expect(openImageRange(path, container.length - 10, 20, 'c:past')).rejects.toMatchObject({
      code: 'IMAGE_TRUNCATED',
    });
  });
});
