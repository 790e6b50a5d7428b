// The golden suite's tiny image pair (test/golden.test.ts), shared with the independent reader's
// conformance test, which re-creates every golden package's inputs: 96 KiB with an insert, a zero
// run and random bytes.

import { applyEdits, syntheticImage } from './edit-images.js';

/** The old and new images of the tiny golden packages. */
export function tinyGoldenImages(): { oldImage: Buffer; newImage: Buffer } {
  const oldImage = syntheticImage(96 * 1024, 42);
  const newImage = applyEdits(
    oldImage,
    [
      { kind: 'insert', at: 30_000, length: 100 },
      { kind: 'zero', at: 70_000, length: 9000 },
      { kind: 'random', at: 5000, length: 300 },
    ],
    42,
  );
  return { oldImage, newImage };
}
