// Hostile exec-aware (differ id 6) blobs inside validly signed packages (the signer is trusted,
// the blob sha256 matches, so only the patcher's own checks stand): an unknown arch byte, a bad
// magic, runs past the regions or a run count past any output, an inner patch that makes
// another size or is cut short, and a patch needing more memory
// than its op declares are refused by verify --old and apply with BLOB_DECODE_FAILED (exit 4),
// with no memory spike; the untouched patch applies.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPackage, verifyPackage } from '../../src/index.js';
import { BsdiffLzmaDiffer } from '../../src/diff/bsdiff-lzma-differ.js';
import { ExecAwareDiffer } from '../../src/diff/exec-aware-differ.js';
import { EXEC_AWARE_HEADER_BYTES, readExecAwareArch, readExecAwareHeader } from '../../src/diff/exec-aware-patch.js';
import { BlobSpool } from '../../src/package/blob-spool.js';
import { writePackage } from '../../src/package/package-writer.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { testPrivateKeyPath } from '../../src/signing/test-keys.js';
import { elfChunk } from '../codecs/sample-data.js';

const work = mkdtempSync(join(tmpdir(), 'ota-exec-signed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
const BLOCK = 4096;
const IMAGE_BYTES = 64 * BLOCK;

/** Real x86-64 code (node's binary, from its ELF header); the new side has 300 bytes inserted. */
function image(edit: boolean): Buffer {
  const code = elfChunk(IMAGE_BYTES, 0);
  const out = Buffer.alloc(IMAGE_BYTES);
  if (!edit) code.copy(out);
  else Buffer.concat([code.subarray(0, 70_000), Buffer.alloc(300, 0x90), code.subarray(70_000)]).copy(out);
  return out;
}

const oldImage = image(false);
const newImage = image(true);
const oldPath = join(work, 'old.img');
writeFileSync(oldPath, oldImage);

async function signedPackage(name: string, patch: Buffer, decoderMemoryBytes: number): Promise<string> {
  const spool = await BlobSpool.create(work);
  const range = await spool.append(patch);
  const signer = await loadSigner(testPrivateKeyPath('ed25519'));
  const path = join(work, `${name}.otapkg`);
  const whole = [{ startBlock: 0, blockCount: IMAGE_BYTES / BLOCK }];
  await writePackage(path, {
    signer,
    spool,
    blobRanges: [range],
    targetHeader: {
      targetId: 'generic',
      vendor: 'Generic',
      platform: 'generic',
      storage: 'generic',
      blockSizeBytes: BLOCK,
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
      blockSizeBytes: BLOCK,
      timestampSeconds: 1,
      sourceVersion: '',
      targetVersion: '',
      maxDecoderMemoryBytes: decoderMemoryBytes,
      requiredSpaceBytes: IMAGE_BYTES,
      partitions: [
        {
          name: 'system',
          source: { sizeBytes: IMAGE_BYTES, sha256: sha(oldImage), version: '', dontCare: [] },
          target: { sizeBytes: IMAGE_BYTES, sha256: sha(newImage), version: '', dontCare: [] },
          operations: [
            {
              type: 'diff',
              dst: whole,
              src: whole,
              srcSha256: sha(oldImage),
              differ: 'exec-aware',
              blob: { offsetBytes: 0, sizeBytes: patch.length, sha256: sha(patch) },
              decoderMemoryBytes,
            },
          ],
        },
      ],
    },
  });
  await spool.dispose();
  return path;
}

describe('signed packages with hostile exec-aware blobs', () => {
  const differ = new ExecAwareDiffer();

  it('applies the untouched patch, and refuses each hostile variant with exit 4', async () => {
    const patch = await differ.diff(oldImage, newImage);
    expect(readExecAwareArch(patch)).toBe('x86-64');
    const memory = differ.decoderMemoryBytes(oldImage.length, newImage.length);
    const good = await signedPackage('good', patch, memory);
    await applyPackage({ packagePath: good, oldPath, outputPath: join(work, 'good.img') });
    expect(readFileSync(join(work, 'good.img')).equals(newImage)).toBe(true);

    const header = patch.subarray(0, EXEC_AWARE_HEADER_BYTES);
    const withArch = (id: number) => Buffer.concat([header.subarray(0, 8), Buffer.from([id]), patch.subarray(9)]);
    const { innerOffset } = readExecAwareHeader(patch, Infinity);
    const runsHeader = patch.subarray(0, innerOffset);
    const inner = patch.subarray(innerOffset);
    const shorter = await new BsdiffLzmaDiffer().diff(oldImage, newImage.subarray(0, IMAGE_BYTES - BLOCK));
    const hostile: [string, Buffer, number][] = [
      ['arch byte 0', withArch(0), memory],
      ['arch byte 255', withArch(255), memory],
      ['bad magic', Buffer.concat([Buffer.from('BSDIFFLZ'), patch.subarray(8)]), memory],
      ['inner patch makes another size', Buffer.concat([runsHeader, shorter]), memory],
      ['runs past the regions', Buffer.concat([header, Buffer.from([2, 0, 0xff, 0xff, 0x03]), inner]), memory],
      [
        'run count past any output',
        Buffer.concat([header, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), inner]),
        memory,
      ],
      ['inner patch cut short', patch.subarray(0, patch.length - 5), memory],
      ['memory under what the apply needs', patch, memory - 1],
    ];
    for (const [label, bytes, declared] of hostile) {
      const packagePath = await signedPackage(label.replace(/ /g, '-'), bytes, declared);
      const refused = { code: 'BLOB_DECODE_FAILED', exitCode: 4 };
      await expect(verifyPackage({ packagePath, oldPath }), label).rejects.toMatchObject(refused);
      const before = process.memoryUsage().rss;
      await expect(
        applyPackage({ packagePath, oldPath, outputPath: join(work, 'out.img') }),
        label,
      ).rejects.toMatchObject(refused);
      expect(process.memoryUsage().rss - before, label).toBeLessThan(128 * 1024 * 1024);
    }
  }, 120_000);
});
