// Format 1.1 in the pure core: release layouts in the target header, unchanged partitions, and
// which minor version a package needs (FORMAT.md §3, §4, §7).

import { describe, expect, it } from 'vitest';
import { minorVersionOf } from '../../src/format/format-version.js';
import { checkManifestInvariants } from '../../src/format/manifest-invariants.js';
import {
  FORMAT_MINOR,
  decodePackageHeader,
  encodePackageHeader,
  packageLayout,
  type PackageHeader,
} from '../../src/format/package-header.js';
import { decodeTargetHeader, encodeTargetHeader } from '../../src/format/target-header-codec.js';
import type { ImageIdentity, Manifest } from '../../src/model/manifest.js';
import type { PartitionLayout, TargetHeader } from '../../src/model/target-header.js';
import { expectOta } from '../helpers/expect-ota.js';

const layout = (over: Partial<PartitionLayout> = {}): PartitionLayout => ({
  name: 'boot',
  slotSuffix: '_a',
  layoutSizeBytes: 65536,
  fileName: 'boot.img',
  lun: 4,
  startSector: 6,
  sectorSizeBytes: 4096,
  region: '',
  addressBytes: 0,
  partitionId: '',
  ...over,
});
const header = (over: Partial<TargetHeader> = {}): TargetHeader => ({
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
  releaseLayout: 'qualcomm-rawprogram',
  partitionLayouts: [layout(), layout({ slotSuffix: '_b', startSector: 22 })],
  ...over,
});
const ident = (sha: number, sizeBytes = 8192): ImageIdentity => ({
  sizeBytes,
  sha256: new Uint8Array(32).fill(sha),
  version: '',
  dontCare: [],
});
const manifest = (partitions: Manifest['partitions']): Manifest => ({
  blockSizeBytes: 4096,
  timestampSeconds: 1,
  sourceVersion: '',
  targetVersion: '',
  partitions,
  maxDecoderMemoryBytes: 0,
  requiredSpaceBytes: 0,
});

describe('target header release layouts', () => {
  it('round-trip every field, and a single-image header encodes exactly as in 1.0', () => {
    const h = header();
    expect(decodeTargetHeader(encodeTargetHeader(h))).toEqual(h);
    const single = header({ releaseLayout: '', partitionLayouts: [] });
    const bytes = encodeTargetHeader(single);
    // Fields 12 and 13 (tags 0x62, 0x6a) are absent: a 1.0 reader decodes it.
    expect(bytes.includes(0x6a)).toBe(false);
    expect(decodeTargetHeader(bytes)).toEqual(single);
  });
  it('refuse bad layout fields with exit 4 and the field named', () => {
    const cases: [Partial<TargetHeader>, RegExp][] = [
      [{ partitionLayouts: [layout({ slotSuffix: '_c' })] }, /slot_suffix "_c"/],
      [{ partitionLayouts: [layout({ name: '../boot' })] }, /name "\.\.\/boot" is not a partition name/],
      [{ partitionLayouts: [layout({ sectorSizeBytes: 1000 })] }, /sector_size_bytes 1000/],
      [{ partitionLayouts: [layout({ fileName: 'x'.repeat(257) })] }, /file_name is longer than 256/],
      [{ releaseLayout: 'nokia-mbn' }, /release_layout "nokia-mbn"/],
      [{ releaseLayout: '' }, /both set or both empty/],
      [{ partitionLayouts: [] }, /both set or both empty/],
    ];
    for (const [over, message] of cases)
      expectOta(() => decodeTargetHeader(encodeTargetHeader(header(over))), 'PKG_BAD_TARGET_HEADER', 4, message);
  });
});

describe('unchanged partitions and layout cross-checks', () => {
  const changed = {
    name: 'system',
    source: ident(1),
    target: ident(2),
    operations: [{ type: 'zero' as const, dst: [{ startBlock: 0, blockCount: 2 }] }],
  };
  it('accept a partition without ops whose target equals its source', () => {
    const m = manifest([{ name: 'boot', source: ident(7), target: ident(7), operations: [] }, changed]);
    expect(() => checkManifestInvariants(m, header(), 0)).not.toThrow();
    expect(minorVersionOf(header(), m)).toBe(1);
  });
  it('refuse a partition without ops that changes, or has no source', () => {
    expectOta(
      () =>
        checkManifestInvariants(
          manifest([{ name: 'boot', source: ident(7), target: ident(8), operations: [] }]),
          header(),
          0,
        ),
      'PKG_BAD_MANIFEST',
      4,
      /partition boot has no operations but its target differs/,
    );
    expectOta(
      () =>
        checkManifestInvariants(
          manifest([{ name: 'boot', source: ident(7), target: ident(7, 4096), operations: [] }]),
          header(),
          0,
        ),
      'PKG_BAD_MANIFEST',
      4,
      /target differs/,
    );
    expectOta(
      () =>
        checkManifestInvariants(
          manifest([{ name: 'boot', source: undefined, target: ident(7), operations: [] }]),
          header(),
          0,
        ),
      'PKG_BAD_MANIFEST',
      4,
      /no source image to keep/,
    );
  });
  it('refuse layouts that place a partition the manifest does not list, or one slot twice', () => {
    const m = manifest([{ name: 'boot', source: ident(7), target: ident(7), operations: [] }]);
    expectOta(
      () => checkManifestInvariants(m, header({ partitionLayouts: [layout({ name: 'vendor' })] }), 0),
      'PKG_BAD_MANIFEST',
      4,
      /places partition vendor, which the manifest does not list/,
    );
    expectOta(
      () => checkManifestInvariants(m, header({ partitionLayouts: [layout(), layout()] }), 0),
      'PKG_BAD_MANIFEST',
      4,
      /places partition boot_a twice/,
    );
  });
  it('need minor 0 for a single-image package, so 1.0 readers still read it', () => {
    expect(minorVersionOf(header({ releaseLayout: '', partitionLayouts: [] }), manifest([changed]))).toBe(0);
  });
});

describe('format minor version', () => {
  const h: PackageHeader = {
    formatMajor: 1,
    formatMinor: 1,
    targetHeaderSizeBytes: 40,
    manifestSizeBytes: 100,
    metadataSignatureSizeBytes: 100,
    payloadSignatureSizeBytes: 100,
    blobSectionSizeBytes: 1000,
  };
  it('accepts 1.0 and 1.1 and refuses a newer minor with exit 7', () => {
    const size = packageLayout(h).fileSizeBytes;
    expect(decodePackageHeader(encodePackageHeader(h), size).formatMinor).toBe(1);
    expect(decodePackageHeader(encodePackageHeader({ ...h, formatMinor: 0 }), size).formatMinor).toBe(0);
    expectOta(
      () => decodePackageHeader(encodePackageHeader({ ...h, formatMinor: FORMAT_MINOR + 1 }), size),
      'PKG_NEWER_MINOR',
      7,
      new RegExp(`format 1\\.${FORMAT_MINOR + 1} at offset 7 is newer than this reader's 1\\.${FORMAT_MINOR}`),
    );
  });
});
