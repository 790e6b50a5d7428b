// Decompression bombs inside a validly signed package (the signature cannot help here): a tiny
// blob that expands to 256 MiB, declared as one 4 KiB block, must stop at the cap with exit 4
// and without a memory spike, for every codec that can express such a bomb.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { encoderByName as codecByName } from '../../src/codecs/encoder-registry.js';
import { expectBlobRefused, targetOf, writeOneOpPackage } from '../helpers/one-op-package.js';

const work = mkdtempSync(join(tmpdir(), 'ota-bomb-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('signed decompression bombs', () => {
  for (const codec of ['gzip', 'zstd', 'xz']) {
    it(`${codec}: 256 MiB of zeros declared as 4 KiB is refused at the cap (exit 4)`, async () => {
      const bomb = await codecByName(codec).encode(
        Buffer.alloc(256 * 1024 * 1024),
        codecByName(codec).defaultLevel > 9 ? 3 : 1,
      );
      const path = await writeOneOpPackage({
        dir: work,
        name: `bomb-${codec}`,
        blob: bomb,
        op: { type: 'replace', dst: [{ startBlock: 0, blockCount: 1 }], codec },
        decoderMemoryBytes: 1 << 20,
        target: targetOf(Buffer.alloc(4096)),
      });
      // The package is correctly signed, but verify trial-decodes its REPLACE blob and refuses it,
      // and applying it stops at the declared size.
      await expectBlobRefused(path, undefined, join(work, `out-${codec}.img`), codec);
    }, 120_000);
  }
});
