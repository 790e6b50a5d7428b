// Unit tests of the pure format core: header bounds, signature blocks, protobuf canonicality,
// manifest shape and invariants, and the published .proto matching the compiled-in schema.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeManifest, encodeManifest } from '../../src/format/manifest-codec.js';
import { checkManifestInvariants } from '../../src/format/manifest-invariants.js';
import {
  decodePackageHeader,
  encodePackageHeader,
  packageLayout,
  type PackageHeader,
} from '../../src/format/package-header.js';
import { PROTO_TEXT } from '../../src/format/schema.js';
import { decodeSignatureBlock, encodeSignatureBlock } from '../../src/format/signature-block.js';
import { decodeTargetHeader, encodeTargetHeader } from '../../src/format/target-header-codec.js';
import type { Manifest } from '../../src/model/manifest.js';
import { PLUGIN_WIRE_IDS } from '../../src/package/plugin-wire-ids.js';
import { algorithmByName } from '../../src/model/signature-algorithm.js';
import type { TargetHeader } from '../../src/model/target-header.js';
import { expectOta } from '../helpers/expect-ota.js';

const header: PackageHeader = {
  formatMajor: 1,
  formatMinor: 0,
  targetHeaderSizeBytes: 40,
  manifestSizeBytes: 100,
  metadataSignatureSizeBytes: 100,
  payloadSignatureSizeBytes: 100,
  blobSectionSizeBytes: 1000,
};
const fileSize = packageLayout(header).fileSizeBytes;

describe('package header', () => {
  it('round-trips and computes the layout', () => {
    expect(decodePackageHeader(encodePackageHeader(header), fileSize)).toEqual(header);
    expect(packageLayout(header).blobs).toEqual({ offsetBytes: 64 + 40 + 100 + 100, sizeBytes: 1000 });
  });
  it('names the offset and bytes of a bad magic', () => {
    const b = encodePackageHeader(header);
    b.write('PK\u0003\u0004', 0, 'latin1');
    expectOta(
      () => decodePackageHeader(b, fileSize),
      'PKG_BAD_MAGIC',
      4,
      /offset 0: expected "OTAPKG", got 50 4b 03 04/,
    );
  });
  it('refuses another major version with exit 4, and a missing signature with exit 6', () => {
    const b = encodePackageHeader(header);
    b[6] = 2;
    expectOta(() => decodePackageHeader(b, fileSize), 'PKG_UNSUPPORTED_VERSION', 4, /format 2\.0 at offset 6/);
    for (const offset of [24, 28]) {
      const c = encodePackageHeader(header);
      c.writeUInt32LE(0, offset);
      expectOta(() => decodePackageHeader(c, fileSize), 'SIG_MISSING', 6, /unsigned/);
    }
  });
  it('checks every length against its limit and the file size before use', () => {
    for (const [offset, value] of [
      [16, 0],
      [16, 0xffffffff],
      [20, 0],
      [20, 0xffffffff],
      [24, 1],
      [28, 0xffffffff],
    ] as const) {
      const b = encodePackageHeader(header);
      b.writeUInt32LE(value, offset);
      expectOta(() => decodePackageHeader(b, fileSize), 'PKG_BAD_LENGTH', 4, new RegExp(`offset ${offset}`));
    }
    const big = encodePackageHeader(header);
    big.writeBigUInt64LE(2n ** 63n, 32);
    expectOta(() => decodePackageHeader(big, fileSize), 'PKG_BAD_LENGTH', 4);
    expectOta(() => decodePackageHeader(encodePackageHeader(header), fileSize - 1), 'PKG_TRUNCATED', 4);
    expectOta(() => decodePackageHeader(encodePackageHeader(header), fileSize + 1), 'PKG_SIZE_MISMATCH', 4);
    expectOta(() => decodePackageHeader(encodePackageHeader(header).subarray(0, 63), 63), 'PKG_TRUNCATED', 4);
  });
  it('rejects non-zero flags and reserved bytes', () => {
    for (const at of [12, 40, 63]) {
      const b = encodePackageHeader(header);
      b[at] = 1;
      expectOta(() => decodePackageHeader(b, fileSize), 'PKG_BAD_HEADER', 4, new RegExp(`offset ${at}`));
    }
  });
});

describe('signature block', () => {
  const algorithm = algorithmByName('ecdsa-p256')!;
  const block = { algorithm, keyId: Buffer.alloc(32, 7), signature: Buffer.alloc(70, 9) };
  it('round-trips with zero padding and rejects non-zero padding', () => {
    const b = encodeSignatureBlock(block);
    expect(b.length).toBe(36 + 72);
    expect(decodeSignatureBlock(b, 0, 'sig').signature.length).toBe(70);
    b[b.length - 1] = 1;
    expectOta(() => decodeSignatureBlock(b, 0, 'sig'), 'PKG_BAD_SIGNATURE_BLOCK', 4, /padding/);
  });
  it('rejects unknown algorithms and impossible lengths', () => {
    const b = encodeSignatureBlock(block);
    b[0] = 99;
    expectOta(() => decodeSignatureBlock(b, 10, 'sig'), 'SIG_UNKNOWN_ALGORITHM', 6, /offset 10/);
    const c = encodeSignatureBlock(block);
    c.writeUInt16LE(73, 2);
    expectOta(() => decodeSignatureBlock(c, 0, 'sig'), 'PKG_BAD_SIGNATURE_BLOCK', 4);
  });
});

const target: TargetHeader = {
  targetId: 'qualcomm',
  vendor: 'Qualcomm',
  platform: 'sm8550',
  storage: 'ufs',
  blockSizeBytes: 4096,
  updateMode: 'ab',
  signatureAlgorithm: 'rsa-4096',
  decoderMemoryLimitBytes: 1 << 28,
  maxOperationBytes: 1 << 22,
  partitionLayout: 'qualcomm-gpt',
  slotSuffixes: ['_a', '_b'],
  releaseLayout: '',
  partitionLayouts: [],
};
const sha = (n: number) => Buffer.alloc(32, n);
const manifest: Manifest = {
  blockSizeBytes: 4096,
  timestampSeconds: 1700000000,
  sourceVersion: '1',
  targetVersion: '2',
  maxDecoderMemoryBytes: 5000,
  requiredSpaceBytes: 40960,
  partitions: [
    {
      name: 'system',
      source: { sizeBytes: 40960, sha256: sha(1), version: '1', dontCare: [] },
      target: { sizeBytes: 40960, sha256: sha(2), version: '2', dontCare: [] },
      operations: [
        { type: 'zero', dst: [{ startBlock: 0, blockCount: 2 }] },
        {
          type: 'copy',
          dst: [{ startBlock: 2, blockCount: 2 }],
          src: [{ startBlock: 5, blockCount: 2 }],
          srcSha256: sha(3),
        },
        {
          type: 'replace',
          dst: [{ startBlock: 4, blockCount: 1 }],
          codec: 'zstd',
          blob: { offsetBytes: 0, sizeBytes: 10, sha256: sha(4) },
          decoderMemoryBytes: 5000,
        },
        {
          type: 'diff',
          dst: [{ startBlock: 5, blockCount: 5 }],
          src: [{ startBlock: 0, blockCount: 10 }],
          srcSha256: sha(5),
          differ: 'zstd-dict',
          blob: { offsetBytes: 10, sizeBytes: 20, sha256: sha(6) },
          decoderMemoryBytes: 100,
        },
      ],
    },
  ],
};

describe('target header and manifest', () => {
  it('round-trip exactly', () => {
    expect(decodeTargetHeader(encodeTargetHeader(target))).toEqual(target);
    const decoded = decodeManifest(encodeManifest(manifest), PLUGIN_WIRE_IDS);
    expect(decoded).toEqual(manifest);
    expect(encodeManifest(decoded).equals(encodeManifest(manifest))).toBe(true);
  });
  it('refuse codec and differ ids the decode-side registries do not know (exit 7)', () => {
    // Two manifests that differ only in one op's wire id: the differing byte is that id.
    const withIds = (codec: string, differ: string): Buffer => {
      const [p] = manifest.partitions;
      const ops = p!.operations.map((op) =>
        op.type === 'replace' ? { ...op, codec } : op.type === 'diff' ? { ...op, differ } : op,
      );
      return encodeManifest({ ...manifest, partitions: [{ ...p!, operations: ops }] });
    };
    const idAt = (a: Buffer, b: Buffer) => a.findIndex((byte, i) => byte !== b[i]);
    const codecBytes = withIds('gzip', 'zstd-dict');
    const codecAt = idAt(codecBytes, withIds('xz', 'zstd-dict'));
    codecBytes[codecAt] = 9;
    expectOta(() => decodeManifest(codecBytes, PLUGIN_WIRE_IDS), 'UNKNOWN_CODEC', 7, /op \d+: unknown codec id 9/);
    const differBytes = withIds('gzip', 'bsdiff');
    const differAt = idAt(differBytes, withIds('gzip', 'bsdf2'));
    differBytes[differAt] = 9;
    expectOta(() => decodeManifest(differBytes, PLUGIN_WIRE_IDS), 'UNKNOWN_DIFFER', 7, /op \d+: unknown differ id 9/);
  });
  it('reject unknown fields (non-canonical) and bad op shapes', () => {
    const bytes = Buffer.concat([encodeManifest(manifest), Buffer.from([0xf8, 0x01, 0x01])]); // field 31, varint 1
    expectOta(() => decodeManifest(bytes, PLUGIN_WIRE_IDS), 'PKG_NON_CANONICAL', 4);
    const zeroWithBlob = {
      ...manifest,
      partitions: [
        {
          ...manifest.partitions[0]!,
          operations: [
            {
              type: 'replace' as const,
              dst: [{ startBlock: 0, blockCount: 1 }],
              codec: 'zstd',
              blob: { offsetBytes: 0, sizeBytes: 0, sha256: sha(1) },
              decoderMemoryBytes: 1,
            },
          ],
        },
      ],
    };
    expectOta(() => decodeManifest(encodeManifest(zeroWithBlob), PLUGIN_WIRE_IDS), 'PKG_BAD_MANIFEST', 4, /empty blob/);
    expectOta(
      () => decodeTargetHeader(encodeTargetHeader({ ...target, blockSizeBytes: 1000 })),
      'PKG_BAD_TARGET_HEADER',
      4,
    );
  });
  it('invariants: extents inside the image, no overlap, contiguous blobs, op limits', () => {
    expect(() => checkManifestInvariants(manifest, target, 30)).not.toThrow();
    expectOta(() => checkManifestInvariants(manifest, target, 31), 'PKG_BAD_MANIFEST', 4, /blob section/);
    const with_ = (op: Manifest['partitions'][0]['operations'][0], i: number): Manifest => ({
      ...manifest,
      partitions: [
        {
          ...manifest.partitions[0]!,
          operations: manifest.partitions[0]!.operations.map((o, j) => (j === i ? op : o)),
        },
      ],
    });
    expectOta(
      () => checkManifestInvariants(with_({ type: 'zero', dst: [{ startBlock: 9, blockCount: 2 }] }, 0), target, 30),
      'PKG_BAD_MANIFEST',
      4,
      /past the image|overlap/,
    );
    expectOta(
      () => checkManifestInvariants(with_({ type: 'zero', dst: [{ startBlock: 3, blockCount: 1 }] }, 0), target, 30),
      'PKG_BAD_MANIFEST',
      4,
      /overlap/,
    );
    expectOta(
      () =>
        checkManifestInvariants(
          with_(
            {
              type: 'copy',
              dst: [{ startBlock: 2, blockCount: 2 }],
              src: [{ startBlock: 9, blockCount: 3 }],
              srcSha256: sha(3),
            },
            1,
          ),
          target,
          30,
        ),
      'PKG_BAD_MANIFEST',
      4,
    );
    expectOta(
      () => checkManifestInvariants(manifest, { ...target, decoderMemoryLimitBytes: 4999 }, 30),
      'PKG_BAD_MANIFEST',
      4,
      /decoder memory/,
    );
    expectOta(
      () => checkManifestInvariants(manifest, { ...target, maxOperationBytes: 4096 }, 30),
      'PKG_BAD_MANIFEST',
      4,
      /limit/,
    );
  });
  it('images of 0 bytes or beyond 2^50 are refused', () => {
    for (const sizeBytes of [0, 2 ** 51]) {
      const m = {
        ...manifest,
        partitions: [{ ...manifest.partitions[0]!, target: { ...manifest.partitions[0]!.target, sizeBytes } }],
      };
      expectOta(() => decodeManifest(encodeManifest(m), PLUGIN_WIRE_IDS), 'PKG_BAD_MANIFEST', 4, /size_bytes/);
    }
    expectOta(
      () => decodeTargetHeader(encodeTargetHeader({ ...target, maxOperationBytes: 2 ** 40 })),
      'PKG_BAD_TARGET_HEADER',
      4,
      /max_operation_bytes/,
    );
  });

  it('the published proto/ota_package.proto is the compiled-in schema', () => {
    expect(readFileSync(new URL('../../proto/ota_package.proto', import.meta.url), 'utf8').trimEnd()).toBe(
      PROTO_TEXT.trimEnd(),
    );
  });
});

/** A protobuf varint. */
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.from(out);
}

describe('hostile manifest sizes', () => {
  it('a manifest of millions of tiny ops is refused from its wire counts, before decoding, within a small memory budget', async () => {
    const { checkManifestCounts } = await import('../../src/format/manifest-counts.js');
    // Partition { operations: [{}, {}, …] }: each empty op is 2 bytes (tag 0x22, length 0).
    const ops = Buffer.alloc(2 * 600_000);
    for (let i = 0; i < ops.length; i += 2) ops[i] = 0x22;
    const manifest = Buffer.concat([Buffer.from([0x2a]), varint(ops.length), ops]);
    const before = process.memoryUsage().heapUsed;
    expectOta(() => checkManifestCounts(manifest), 'PKG_BAD_MANIFEST', 4, /more than 32768 operations/);
    expectOta(() => decodeManifest(manifest, PLUGIN_WIRE_IDS), 'PKG_BAD_MANIFEST', 4, /operations/);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
    expectOta(() => checkManifestCounts(Buffer.from([0x2a, 0x05, 0x22])), 'PKG_BAD_MANIFEST', 4, /runs past/);
  });

  it('stash_ids, written one tag per id, count against the per-op limit before decoding (and packed ones by their bytes)', async () => {
    const { checkManifestCounts } = await import('../../src/format/manifest-counts.js');
    const { MAX_EXTENTS_PER_OPERATION } = await import('../../src/format/limits.js');
    const manifestOf = (op: Buffer) => {
      const partition = Buffer.concat([Buffer.from([0x22]), varint(op.length), op]);
      return Buffer.concat([Buffer.from([0x2a]), varint(partition.length), partition]);
    };
    // COPY (type 2) naming stash 1 over and over: tag 0x60, value 1.
    const unpacked = (ids: number) =>
      Buffer.concat([Buffer.from([0x08, 0x02]), Buffer.alloc(2 * ids, Buffer.from([0x60, 0x01]))]);
    expect(checkManifestCounts(manifestOf(unpacked(MAX_EXTENTS_PER_OPERATION))).extentCount).toBe(
      MAX_EXTENTS_PER_OPERATION,
    );
    expectOta(
      () => checkManifestCounts(manifestOf(unpacked(MAX_EXTENTS_PER_OPERATION + 1))),
      'PKG_BAD_MANIFEST',
      4,
      /names more than \d+ stashes/,
    );
    const packedIds = Buffer.alloc(MAX_EXTENTS_PER_OPERATION + 1, 1);
    const packed = Buffer.concat([Buffer.from([0x08, 0x02, 0x62]), varint(packedIds.length), packedIds]);
    expectOta(() => checkManifestCounts(manifestOf(packed)), 'PKG_BAD_MANIFEST', 4, /names more than \d+ stashes/);
  });
});

describe('the schema pins its encoding', () => {
  it('stash_ids are written one tag per id (packed = false) by the build and by any parser generated from the published schema', async () => {
    const { ManifestType, PROTO_TEXT } = await import('../../src/format/schema.js');
    const { encodeMessage } = await import('../../src/format/proto-message.js');
    const protobuf = (await import('protobufjs')).default;
    const manifest = { partitions: [{ name: 'x', operations: [{ type: 2, stash_ids: [1, 2] }] }] };
    // Operation { type: COPY, stash_ids: 1, stash_ids: 2 } inside partition 'x'.
    const op = '0802' + '6001' + '6002';
    expect(encodeMessage(ManifestType, manifest).toString('hex')).toContain(op);
    // A schema resolved in full, as a code generator does: without the option, proto3's default
    // (packed) took over there, and the same ids came out as 62 02 01 02.
    const resolved = protobuf.parse(PROTO_TEXT, { keepCase: true }).root;
    resolved.resolveAll();
    const type = resolved.lookupType('otabuild.v1.Manifest');
    expect(encodeMessage(type, manifest).toString('hex')).toContain(op);
  });
});
