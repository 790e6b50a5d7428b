// Signature sections (FORMAT.md §5, format 1.2): pure encode/decode limits, and a two-key
// package's sections spliced or damaged on disk are refused with typed errors.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtaError, buildPackages, keygen, verifyPackage } from '../../src/index.js';
import { encodeSignatureBlock } from '../../src/format/signature-block.js';
import { decodeSignatureSection, encodeSignatureSection } from '../../src/format/signature-section.js';
import { algorithmByName } from '../../src/model/signature-algorithm.js';
import { expectOta } from '../helpers/expect-ota.js';
import { sectionNamed } from '../helpers/package-bytes.js';
import { writeImagePair } from '../helpers/synthetic-images.js';

const ed = algorithmByName('ed25519')!;
const block = (keyByte: number, sigByte = 9) => ({
  algorithm: ed,
  keyId: Buffer.alloc(32, keyByte),
  signature: Buffer.alloc(64, sigByte),
});

describe('signature sections', () => {
  it('one block encodes exactly as a 1.0 signature block; four round-trip in order', () => {
    expect(encodeSignatureSection([block(1)]).equals(encodeSignatureBlock(block(1)))).toBe(true);
    const four = encodeSignatureSection([block(1), block(2), block(3), block(4)]);
    expect(four.length).toBe(4 * 100);
    expect(decodeSignatureSection(four, 500, 'metadata signature').map((b) => b.keyId[0])).toEqual([1, 2, 3, 4]);
  });

  it('refuses five blocks, a partial block, a repeated key, a mixed algorithm and dirty padding in block 2', () => {
    const five = Buffer.concat([1, 2, 3, 4, 5].map((k) => encodeSignatureBlock(block(k))));
    expectOta(() => decodeSignatureSection(five, 0, 'sig'), 'PKG_BAD_SIGNATURE_BLOCK', 4, /not 1\.\.4 ed25519/);
    const partial = encodeSignatureSection([block(1), block(2)]).subarray(0, 150);
    expectOta(() => decodeSignatureSection(partial, 0, 'sig'), 'PKG_BAD_SIGNATURE_BLOCK', 4, /150 bytes/);
    const twice = encodeSignatureSection([block(1), block(1, 8)]);
    expectOta(() => decodeSignatureSection(twice, 0, 'sig'), 'PKG_BAD_SIGNATURE_BLOCK', 4, /signs twice/);
    const mixed = encodeSignatureSection([block(1), block(2)]);
    mixed[100] = 4; // block 2 says rsa-2048 in an ed25519-sized slot
    expectOta(() => decodeSignatureSection(mixed, 0, 'sig'), 'PKG_BAD_SIGNATURE_BLOCK', 4, /sig 2 at offset 100/);
    const padded = encodeSignatureSection([block(1), { ...block(2), signature: Buffer.alloc(60, 9) }]);
    padded[199] = 1;
    expectOta(() => decodeSignatureSection(padded, 0, 'sig'), 'PKG_BAD_SIGNATURE_BLOCK', 4, /padding byte/);
    expectOta(() => encodeSignatureSection([]), 'PKG_BAD_SIGNATURE_BLOCK', 4);
  });
});

describe('a two-key package on disk', () => {
  const work = mkdtempSync(join(tmpdir(), 'ota-sigsec-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  let bytes: Buffer;
  const pub = (k: string) => join(work, `${k}.pub.pem`);
  const refusal = async (mutated: Buffer, pubkey: string): Promise<OtaError> => {
    const path = join(work, 'mutated.otapkg');
    writeFileSync(path, mutated);
    const err = await verifyPackage({ packagePath: path, pubkeyPath: pubkey }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OtaError);
    return err as OtaError;
  };

  beforeAll(async () => {
    const pair = writeImagePair(work, 0x5ec, 64 * 1024);
    for (const k of ['a', 'b']) await keygen('ed25519', join(work, k));
    const [built] = (
      await buildPackages({
        oldPath: pair.oldPath,
        newPath: pair.newPath,
        outDir: join(work, 'out'),
        targets: 'generic',
        keyPaths: [join(work, 'a.pem'), join(work, 'b.pem')],
        timestampSeconds: 1,
        jobs: 1,
      })
    ).packages;
    bytes = readFileSync(built!.path);
    await verifyPackage({ packagePath: built!.path, pubkeyPath: [pub('b')] });
  }, 60_000);

  it('swapped payload blocks (keys in another order): exit 6 SIG_KEY_MISMATCH', async () => {
    const sec = sectionNamed(bytes, 'payloadSignature');
    const m = Buffer.from(bytes);
    bytes.copy(m, sec.offsetBytes, sec.offsetBytes + 100, sec.offsetBytes + 200);
    bytes.copy(m, sec.offsetBytes + 100, sec.offsetBytes, sec.offsetBytes + 100);
    const err = await refusal(m, pub('a'));
    expect([err.code, err.exitCode]).toEqual(['SIG_KEY_MISMATCH', 6]);
  });

  it("a flip in the unpinned key's metadata signature is still caught by the pinned key's payload signature", async () => {
    const sec = sectionNamed(bytes, 'metadataSignature');
    const m = Buffer.from(bytes);
    m[sec.offsetBytes + 100 + 36 + 5]! ^= 0x40; // block 2 (key b), inside its signature
    const err = await refusal(m, pub('a'));
    expect([err.code, err.exitCode]).toEqual(['SIG_PAYLOAD_INVALID', 6]);
  });

  it('a header claiming minor 1 for two signatures is refused before any signature check', async () => {
    const m = Buffer.from(bytes);
    m[7] = 1;
    const err = await refusal(m, pub('a'));
    expect([err.code, err.exitCode]).toEqual(['PKG_BAD_SIGNATURE_BLOCK', 4]);
  });
});
