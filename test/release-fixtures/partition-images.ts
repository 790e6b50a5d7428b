// Deterministic partition contents for the release generators: seeded images that look like
// firmware (random code-like blocks, text, zero runs), small edits between versions, growth, and
// Android sparse encoding through the project's own SparseImageWriter. Also the description of a
// generated partition that the reader tests compare against.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparseImageWriter } from '../../src/image/sparse-image-writer.js';
import { seededRng } from '../helpers/seeded-random.js';
import { makeOldImage } from '../helpers/synthetic-images.js';

/** What a generator wrote for one partition entry, in the terms of ReleasePartition. */
export interface GeneratedPartition {
  readonly name: string;
  readonly fileName: string | undefined;
  readonly layoutSizeBytes: number | undefined;
  readonly upgradable: boolean;
  /** The image is stored as an Android sparse file. */
  readonly sparse: boolean;
  /** The logical image (expanded when sparse); undefined when the entry has no image. */
  readonly image: Buffer | undefined;
}

/** A generated release: where it is and every entry it describes, in layout order. */
export interface GeneratedRelease {
  readonly path: string;
  readonly partitions: readonly GeneratedPartition[];
}

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** A stable 32-bit seed from a label, so each partition's content is independent of the others. */
export function seedOf(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A firmware-like image of `sizeBytes` (a multiple of 4096): random, text and zero 4 KiB blocks,
 * and when `zeroTailFraction` > 0 that fraction of the end left zero (free space in a filesystem),
 * which a sparse encoding stores as one FILL chunk.
 */
export function partitionImage(label: string, sizeBytes: number, zeroTailFraction = 0): Buffer {
  const image = makeOldImage(seedOf(label), sizeBytes);
  const zeroFrom = Math.floor((sizeBytes * (1 - zeroTailFraction)) / 4096) * 4096;
  image.fill(0, zeroFrom);
  return image;
}

/** `image` with `count` small seeded edits (a few bytes each) in its first `withinBytes`. */
export function editedImage(image: Buffer, label: string, count = 8, withinBytes = image.length): Buffer {
  const rng = seededRng(seedOf(`${label}/edit`));
  const out = Buffer.from(image);
  for (let i = 0; i < count; i++) {
    const at = rng.int(0, withinBytes - 16);
    rng.bytes(rng.int(1, 12)).copy(out, at);
  }
  return out;
}

/** `image` grown to `sizeBytes`: its bytes, then new firmware-like content, then zeros. */
export function grownImage(image: Buffer, label: string, sizeBytes: number, newDataBytes: number): Buffer {
  const out = Buffer.alloc(sizeBytes);
  image.copy(out);
  partitionImage(`${label}/grown`, Math.ceil(newDataBytes / 4096) * 4096).copy(out, image.length, 0, newDataBytes);
  return out;
}

/** The Android sparse encoding of `image` (4 KiB blocks), as SparseImageWriter writes it. */
export async function sparseBytes(image: Buffer, blockSizeBytes = 4096): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'ota-release-sparse-'));
  try {
    const path = join(dir, 'image.simg');
    const writer = await SparseImageWriter.create(path, blockSizeBytes, image.length / blockSizeBytes);
    const step = 64 * blockSizeBytes;
    for (let at = 0; at < image.length; at += step)
      await writer.writeData(at / blockSizeBytes, image.subarray(at, Math.min(image.length, at + step)));
    await writer.finish();
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fixed-width UTF-16LE field (NUL padded), for the PAC writer. */
export function utf16Field(text: string, lengthBytes: number): Buffer {
  const out = Buffer.alloc(lengthBytes);
  out.write(text, 0, lengthBytes - 2, 'utf16le');
  return out;
}
