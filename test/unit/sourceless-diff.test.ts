// Sourceless DIFF ops (format 1.4, FORMAT.md §4): a DIFF with no source extents, whose differ
// patches zero bytes, in a full partition. The manifest codec, the invariants and the minor
// version a package must state; a package stating a minor below 4 is refused after its signature.
// Every differ patches zero bytes into its target, and deflate-aware takes a sourceless chunk only
// where deflate streams are at least a quarter of it.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeflateAwareDiffer } from '../../src/diff/deflate-aware-differ.js';
import { allDiffers } from '../../src/diff/differ-registry.js';
import { patcherFor } from '../../src/diff/patcher-registry.js';
import { minorVersionOf } from '../../src/format/format-version.js';
import { decodeManifest, encodeManifest } from '../../src/format/manifest-codec.js';
import { checkManifestInvariants } from '../../src/format/manifest-invariants.js';
import { applyPackage, inspectPackage } from '../../src/index.js';
import type { Manifest } from '../../src/model/manifest.js';
import type { DiffOperation } from '../../src/model/operation.js';
import { PLUGIN_WIRE_IDS } from '../../src/package/plugin-wire-ids.js';
import { testPrivateKeyPath } from '../../src/signing/test-keys.js';
import { expectOta } from '../helpers/expect-ota.js';
import { targetOf, writeOneOpPackage } from '../helpers/one-op-package.js';
import { HEADER_FIELD, resign } from '../helpers/package-bytes.js';
import { genericTargetHeader } from '../helpers/target-header.js';
import { zipArchive } from '../helpers/zip-archive.js';

const work = mkdtempSync(join(tmpdir(), 'ota-sourceless-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
const EMPTY_SHA256 = sha256(new Uint8Array(0));
const quiet = { warn() {}, progress() {} };

const sourceless = (over: Partial<DiffOperation> = {}): DiffOperation => ({
  type: 'diff',
  dst: [{ startBlock: 0, blockCount: 2 }],
  src: [],
  srcSha256: EMPTY_SHA256,
  differ: 'deflate-aware',
  blob: { offsetBytes: 0, sizeBytes: 100, sha256: new Uint8Array(32).fill(7) },
  decoderMemoryBytes: 1 << 20,
  ...over,
});
const manifest = (op: DiffOperation): Manifest => ({
  blockSizeBytes: 4096,
  timestampSeconds: 1,
  sourceVersion: '',
  targetVersion: '',
  partitions: [
    {
      name: 'system',
      source: undefined,
      target: { sizeBytes: 8192, sha256: new Uint8Array(32).fill(1), version: '', dontCare: [] },
      operations: [op],
    },
  ],
  maxDecoderMemoryBytes: 1 << 20,
  requiredSpaceBytes: 8192,
});

describe('sourceless DIFF in the manifest', () => {
  it('round-trips in a full partition and needs minor 4', () => {
    const m = manifest(sourceless());
    const decoded = decodeManifest(encodeManifest(m), PLUGIN_WIRE_IDS);
    const op = decoded.partitions[0]!.operations[0]!;
    expect(op.type === 'diff' && op.src.length === 0 && Buffer.from(op.srcSha256).equals(EMPTY_SHA256)).toBe(true);
    checkManifestInvariants(decoded, genericTargetHeader(), 100);
    expect(minorVersionOf(genericTargetHeader(), decoded)).toBe(4);
  });

  it('refuses one whose src_sha256 is not the sha256 of no bytes, and a COPY without source', () => {
    const badSha = encodeManifest(manifest(sourceless({ srcSha256: new Uint8Array(32).fill(9) })));
    expectOta(() => decodeManifest(badSha, PLUGIN_WIRE_IDS), 'PKG_BAD_MANIFEST', 4, /not the sha256 of no bytes/);
    const copy = manifest(sourceless());
    const noSrcCopy = {
      ...copy,
      partitions: [
        {
          ...copy.partitions[0]!,
          operations: [{ type: 'copy' as const, dst: sourceless().dst, src: [], srcSha256: EMPTY_SHA256 }],
        },
      ],
    };
    expectOta(
      () => decodeManifest(encodeManifest(noSrcCopy), PLUGIN_WIRE_IDS),
      'PKG_BAD_MANIFEST',
      4,
      /no source extents/,
    );
  });

  it('refuses one in an in-place package', () => {
    const m = manifest(sourceless({ dstSha256: new Uint8Array(32).fill(3) }));
    expectOta(
      () => checkManifestInvariants(m, genericTargetHeader({ updateMode: 'in-place', maxStashBytes: 0 }), 100),
      'PKG_BAD_MANIFEST',
      4,
      /has no source, which an in-place package does not allow/,
    );
  });
});

describe('a full package with a sourceless deflate-aware op', () => {
  const image = Buffer.alloc(64 * 1024);
  const text = Buffer.from('export function f(x) { return x + 1; }\n'.repeat(600));
  zipArchive([
    { name: 'a.js', data: text, level: 6 },
    { name: 'b.js', data: Buffer.from(text.toString().replace(/f\(/g, 'g(')), level: 9 },
  ]).copy(image, 4096);
  const makePackage = async (name: string): Promise<string> => {
    const differ = new DeflateAwareDiffer();
    const blob = await differ.diff(new Uint8Array(0), image);
    return writeOneOpPackage({
      dir: work,
      name,
      blob,
      op: {
        type: 'diff',
        dst: [{ startBlock: 0, blockCount: 16 }],
        src: [],
        srcSha256: EMPTY_SHA256,
        differ: 'deflate-aware',
      },
      decoderMemoryBytes: differ.patchDecoderMemoryBytes(blob, 0, image.length),
      target: targetOf(image),
    });
  };

  it('is written as minor 4 and applies without an old image', async () => {
    const path = await makePackage('applies');
    expect(readFileSync(path)[HEADER_FIELD.formatMinor]).toBe(4);
    const outputPath = join(work, 'out.img');
    await applyPackage({ packagePath: path, outputPath });
    expect(readFileSync(outputPath).equals(image)).toBe(true);
  });

  it('is refused when it states minor 0 to 3, even when re-signed', async () => {
    const path = await makePackage('restated');
    const key = readFileSync(testPrivateKeyPath('ed25519'), 'utf8');
    for (const minor of [0, 1, 2, 3]) {
      const bytes = Buffer.from(readFileSync(path));
      bytes[HEADER_FIELD.formatMinor] = minor;
      const mutated = join(work, `minor-${minor}.otapkg`);
      writeFileSync(mutated, resign(bytes, key));
      await expect(inspectPackage({ packagePath: mutated, reporter: quiet }), `minor ${minor}`).rejects.toMatchObject({
        code: 'PKG_BAD_MANIFEST',
        exitCode: 4,
        message: expect.stringMatching(/uses 1\.4 features/),
      });
    }
  });
});

describe('every differ on no source (FORMAT.md §4: readers accept a sourceless DIFF of any known differ)', () => {
  it('each differ patches zero bytes into its target, within the memory it declares', async () => {
    const targets = [
      zipArchive([{ name: 'a.js', data: Buffer.from('const x = 1;\n'.repeat(3000)), level: 6 }]),
      Buffer.from('plain text, no deflate streams\n'.repeat(500)),
    ];
    const empty = new Uint8Array(0);
    for (const differ of allDiffers()) {
      for (const target of targets) {
        const patch = await differ.diff(empty, target);
        const memory =
          differ.patchDecoderMemoryBytes?.(patch, 0, target.length) ?? differ.decoderMemoryBytes(0, target.length);
        const out = await patcherFor(differ.name).patch(empty, patch, target.length, memory);
        expect(out.equals(target), `${differ.name} on ${target.length} bytes`).toBe(true);
      }
    }
  });

  it('deflate-aware applies without a source only where deflate streams are at least a quarter of the chunk', () => {
    const differ = new DeflateAwareDiffer();
    const zip = zipArchive([{ name: 'a.js', data: Buffer.from('let y = 2;\n'.repeat(4000)), level: 6 }]);
    const filler = (bytes: number) => Buffer.alloc(bytes, 0x41);
    // The zip and nine times its size of filler: under a tenth of the chunk is deflated, too little
    // without a source (any stream will do with one); the zip alone is mostly its deflated member.
    const tenth = Buffer.concat([zip, filler(zip.length * 9)]);
    expect(differ.applies(new Uint8Array(0), tenth)).toBe(false);
    expect(differ.applies(new Uint8Array(1), tenth)).toBe(true);
    expect(differ.applies(new Uint8Array(0), zip)).toBe(true);
  });
});
