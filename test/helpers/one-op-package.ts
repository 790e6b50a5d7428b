// Validly signed one-partition packages of one op (or a few) around blobs a test chose (hostile or not), and the
// refusal check the robustness suites share: the signer is trusted and the blob sha256 matches, so
// only the decoder's or patcher's own checks stand between the blob and the device.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { applyPackage, verifyPackage } from '../../src/index.js';
import type { DiffOperation, ReplaceOperation } from '../../src/model/operation.js';
import { BlobSpool } from '../../src/package/blob-spool.js';
import { writePackage } from '../../src/package/package-writer.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { testPrivateKeyPath } from '../../src/signing/test-keys.js';
import { genericTargetHeader } from './target-header.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
const BLOCK_BYTES = 4096;

/** The op that carries the blob, without its blob reference (filled in here). */
export type OneOp =
  Omit<ReplaceOperation, 'blob' | 'decoderMemoryBytes'> | Omit<DiffOperation, 'blob' | 'decoderMemoryBytes'>;

/** What one package holds. */
export interface OneOpPackage {
  readonly dir: string;
  /** File name stem (`<name>.otapkg` in `dir`). */
  readonly name: string;
  readonly blob: Uint8Array;
  readonly op: OneOp;
  /** Declared by the op and by the manifest. */
  readonly decoderMemoryBytes: number;
  /** The old image of a delta partition (absent: a full partition). */
  readonly oldImage?: Uint8Array;
  /** The image the package promises. */
  readonly target: { readonly sizeBytes: number; readonly sha256: Uint8Array };
}

/** Writes a generic-target package, signed with the ed25519 test key, of one op; returns its path. */
export function writeOneOpPackage(p: OneOpPackage): Promise<string> {
  return writeOpsPackage({ ...p, ops: [{ op: p.op, blob: p.blob, decoderMemoryBytes: p.decoderMemoryBytes }] });
}

/** One op of writeOpsPackage and the blob it carries. */
export interface OpWithBlob {
  readonly op: OneOp;
  readonly blob: Uint8Array;
  readonly decoderMemoryBytes: number;
}

/** Writes a generic-target package, signed with the ed25519 test key, of `ops` in order; returns its path. */
export async function writeOpsPackage(
  p: Omit<OneOpPackage, 'op' | 'blob' | 'decoderMemoryBytes'> & { readonly ops: readonly OpWithBlob[] },
): Promise<string> {
  const spool = await BlobSpool.create(p.dir);
  const signer = await loadSigner(testPrivateKeyPath('ed25519'));
  const path = join(p.dir, `${p.name}.otapkg`);
  const blobRanges = [];
  const operations = [];
  let offsetBytes = 0;
  for (const { op, blob, decoderMemoryBytes } of p.ops) {
    blobRanges.push(await spool.append(blob));
    operations.push({ ...op, blob: { offsetBytes, sizeBytes: blob.length, sha256: sha256(blob) }, decoderMemoryBytes });
    offsetBytes += blob.length;
  }
  const identity = (sizeBytes: number, sha: Uint8Array) => ({ sizeBytes, sha256: sha, version: '', dontCare: [] });
  await writePackage(path, {
    signer,
    spool,
    blobRanges,
    targetHeader: genericTargetHeader({ blockSizeBytes: BLOCK_BYTES }),
    manifest: {
      blockSizeBytes: BLOCK_BYTES,
      timestampSeconds: 1,
      sourceVersion: '',
      targetVersion: '',
      maxDecoderMemoryBytes: Math.max(...p.ops.map((o) => o.decoderMemoryBytes)),
      requiredSpaceBytes: p.target.sizeBytes,
      partitions: [
        {
          name: 'system',
          source: p.oldImage ? identity(p.oldImage.length, sha256(p.oldImage)) : undefined,
          target: identity(p.target.sizeBytes, p.target.sha256),
          operations,
        },
      ],
    },
  });
  await spool.dispose();
  return path;
}

/** A DIFF op from the whole old image to the whole new one (same size), with `differ`. */
export function wholeImageDiff(differ: string, oldImage: Uint8Array): OneOp {
  const whole = [{ startBlock: 0, blockCount: oldImage.length / BLOCK_BYTES }];
  return { type: 'diff', dst: whole, src: whole, srcSha256: sha256(oldImage), differ };
}

/** The identity of `image` as a package target. */
export function targetOf(image: Uint8Array): { sizeBytes: number; sha256: Buffer } {
  return { sizeBytes: image.length, sha256: sha256(image) };
}

/**
 * Asserts that `verify` (with `oldPath` for a delta) and `apply` both refuse the package with
 * BLOB_DECODE_FAILED (exit 4), and that the apply's resident memory grows by under 128 MiB.
 */
export async function expectBlobRefused(
  packagePath: string,
  oldPath: string | undefined,
  outputPath: string,
  label: string,
): Promise<void> {
  const refused = { code: 'BLOB_DECODE_FAILED', exitCode: 4 };
  await expect(verifyPackage({ packagePath, oldPath }), label).rejects.toMatchObject(refused);
  const before = process.memoryUsage().rss;
  await expect(applyPackage({ packagePath, oldPath, outputPath }), label).rejects.toMatchObject(refused);
  expect(process.memoryUsage().rss - before, label).toBeLessThan(128 * 1024 * 1024);
}

/** A hostile variant of a patch: a label, the blob, and the decoder memory its op declares. */
export type HostilePatch = readonly [label: string, blob: Buffer, decoderMemoryBytes: number];

/**
 * The set-up of a differ's hostile-patch suite: `oldImage` written to `dir`, a package of one
 * whole-image DIFF op for any patch, and the check that every hostile variant is refused.
 */
export function wholeImageDiffCase(dir: string, differ: string, oldImage: Uint8Array, newImage: Uint8Array) {
  const oldPath = join(dir, 'old.img');
  writeFileSync(oldPath, oldImage);
  const packageOf = (name: string, blob: Buffer, decoderMemoryBytes: number): Promise<string> =>
    writeOneOpPackage({
      dir,
      name,
      blob,
      op: wholeImageDiff(differ, oldImage),
      decoderMemoryBytes,
      oldImage,
      target: targetOf(newImage),
    });
  const expectAllRefused = async (hostile: readonly HostilePatch[]): Promise<void> => {
    for (const [label, blob, declared] of hostile) {
      const packagePath = await packageOf(label.replace(/ /g, '-'), blob, declared);
      await expectBlobRefused(packagePath, oldPath, join(dir, 'out.img'), label);
    }
  };
  return { oldPath, packageOf, expectAllRefused };
}
