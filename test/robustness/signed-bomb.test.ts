// Decompression bombs inside a validly signed package (the signature cannot help here): a tiny
// blob that expands to 256 MiB, declared as one 4 KiB block, must stop at the cap with exit 4
// and without a memory spike, for every codec that can express such a bomb.

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPackage, verifyPackage } from '../../src/index.js';
import { encoderByName as codecByName } from '../../src/codecs/encoder-registry.js';
import { BlobSpool } from '../../src/package/blob-spool.js';
import { writePackage } from '../../src/package/package-writer.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { testPrivateKeyPath } from '../../src/signing/test-keys.js';

const work = mkdtempSync(join(tmpdir(), 'ota-bomb-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

describe('signed decompression bombs', () => {
  for (const codec of ['gzip', 'zstd', 'xz']) {
    it(`${codec}: 256 MiB of zeros declared as 4 KiB is refused at the cap (exit 4)`, async () => {
      const bomb = await codecByName(codec).encode(
        Buffer.alloc(256 * 1024 * 1024),
        codecByName(codec).defaultLevel > 9 ? 3 : 1,
      );
      const spool = await BlobSpool.create(work);
      const range = await spool.append(bomb);
      const signer = await loadSigner(testPrivateKeyPath('ed25519'));
      const path = join(work, `bomb-${codec}.otapkg`);
      await writePackage(path, {
        signer,
        spool,
        blobRanges: [range],
        targetHeader: {
          targetId: 'generic',
          vendor: 'Generic',
          platform: 'generic',
          storage: 'generic',
          blockSizeBytes: 4096,
          updateMode: 'ab',
          signatureAlgorithm: 'ed25519',
          decoderMemoryLimitBytes: 1 << 30,
          maxOperationBytes: 1 << 22,
          partitionLayout: 'generic',
          slotSuffixes: [],
          releaseLayout: '',
          partitionLayouts: [],
        },
        manifest: {
          blockSizeBytes: 4096,
          timestampSeconds: 1,
          sourceVersion: '',
          targetVersion: '',
          maxDecoderMemoryBytes: 1 << 20,
          requiredSpaceBytes: 4096,
          partitions: [
            {
              name: 'system',
              source: undefined,
              target: { sizeBytes: 4096, sha256: sha(Buffer.alloc(4096)), version: '', dontCare: [] },
              operations: [
                {
                  type: 'replace',
                  dst: [{ startBlock: 0, blockCount: 1 }],
                  codec,
                  blob: { offsetBytes: 0, sizeBytes: bomb.length, sha256: sha(bomb) },
                  decoderMemoryBytes: 1 << 20,
                },
              ],
            },
          ],
        },
      });
      await spool.dispose();
      // The package is correctly signed, but verify trial-decodes its REPLACE blob and refuses it…
      await expect(verifyPackage({ packagePath: path })).rejects.toMatchObject({
        code: 'BLOB_DECODE_FAILED',
        exitCode: 4,
      });
      // …and applying it stops at the declared size.
      const before = process.memoryUsage().rss;
      await expect(
        applyPackage({ packagePath: path, outputPath: join(work, `out-${codec}.img`) }),
      ).rejects.toMatchObject({ code: 'BLOB_DECODE_FAILED', exitCode: 4 });
      expect(process.memoryUsage().rss - before).toBeLessThan(128 * 1024 * 1024);
    }, 120_000);
  }
});
