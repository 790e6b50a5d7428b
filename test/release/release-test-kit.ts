// Shared assertions for the release reader suites: every entry read back equals what the
// generator wrote (names, sizes, flags, image bytes), and bad inputs fail with one typed
// ImageError (exit 3) whose code and message are the documented ones.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ExitCode, ImageError } from '../../src/errors/ota-error.js';
import type { BlockSource } from '../../src/image/block-source.js';
import type { ReleaseSource } from '../../src/release/release-source.js';
import type { GeneratedRelease } from '../release-fixtures/partition-images.js';

/** A temp directory and its cleanup. */
export function scratch(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The whole logical image of a source (test images are small). */
export async function readAll(source: BlockSource): Promise<Buffer> {
  return source.read(0, source.sizeBytes);
}

/** Asserts the reader's entries match the generator's, field by field and byte for byte. */
export async function expectReleaseMatches(release: ReleaseSource, generated: GeneratedRelease): Promise<void> {
  expect(release.partitions.map((p) => p.name)).toEqual(generated.partitions.map((p) => p.name));
  for (const [i, want] of generated.partitions.entries()) {
    const got = release.partitions[i]!;
    expect({
      name: got.name,
      fileName: got.fileName,
      layoutSizeBytes: got.layoutSizeBytes,
      upgradable: got.upgradable,
    }).toEqual({
      name: want.name,
      fileName: want.fileName,
      layoutSizeBytes: want.layoutSizeBytes,
      upgradable: want.upgradable,
    });
    expect(got.upgradable || (got.notUpgradableReason ?? '').length > 0, `${got.name} needs a reason`).toBe(true);
    if (want.image === undefined) {
      await expectImageError(got.open(), 'RELEASE_NO_IMAGE', [got.name]);
      continue;
    }
    const source = await got.open();
    try {
      expect(source.format, got.name).toBe(want.sparse ? 'sparse' : 'raw');
      expect(source.sizeBytes, got.name).toBe(want.image.length);
      expect((await readAll(source)).equals(want.image), `${got.name}: bytes differ`).toBe(true);
    } finally {
      await source.close();
    }
  }
}

/** Asserts `promise` rejects with an ImageError (exit 3) of `code` whose message contains every part. */
export async function expectImageError(
  promise: Promise<unknown>,
  code: string,
  parts: readonly string[],
): Promise<ImageError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(ImageError);
  const e = err as ImageError;
  expect(e.code, e.message).toBe(code);
  expect(e.exitCode).toBe(ExitCode.badImage);
  for (const part of parts) expect(e.message).toContain(part);
  expect(e.message).not.toContain('\n');
  return e;
}
