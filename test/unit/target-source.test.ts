// Target sources (format 1.6, FORMAT.md §4) in the manifest: a DIFF in an A/B package reads,
// after its old-image source, blocks of the target that earlier ops wrote. The manifest codec, the
// invariants that keep a hostile manifest from reading what is not yet written, and the minor a
// package must state. Builds and applies of such packages: test/e2e/target-source-build.test.ts.

import { describe, expect, it } from 'vitest';
import { minorVersionOf } from '../../src/format/format-version.js';
import { decodeManifest, encodeManifest } from '../../src/format/manifest-codec.js';
import { MAX_EXTENTS_PER_OPERATION } from '../../src/format/limits.js';
import { decodeMessageStrict, encodeMessage } from '../../src/format/proto-message.js';
import { ManifestType } from '../../src/format/schema.js';
import { checkManifestInvariants } from '../../src/format/manifest-invariants.js';
import type { Extent } from '../../src/model/extent.js';
import type { Manifest } from '../../src/model/manifest.js';
import type { DiffOperation, Operation } from '../../src/model/operation.js';
import { PLUGIN_WIRE_IDS } from '../../src/package/plugin-wire-ids.js';
import { expectOta } from '../helpers/expect-ota.js';
import { genericTargetHeader } from '../helpers/target-header.js';

const BS = 4096;
const blocks = (startBlock: number, blockCount: number): Extent => ({ startBlock, blockCount });

describe('target sources in the manifest', () => {
  // Op 0 writes blocks 0-3, op 1 reads old blocks 0-1 and target blocks 0-3 and writes 4-7.
  const blob = (offsetBytes: number) => ({ offsetBytes, sizeBytes: 10, sha256: new Uint8Array(32).fill(5) });
  const diff = (over: Partial<DiffOperation> = {}): DiffOperation => ({
    type: 'diff',
    dst: [blocks(4, 4)],
    src: [blocks(0, 2)],
    srcSha256: new Uint8Array(32).fill(2),
    targetSrc: [blocks(0, 4)],
    differ: 'bsdiff-lzma',
    blob: blob(10),
    decoderMemoryBytes: 1 << 20,
    ...over,
  });
  const first: Operation = {
    type: 'replace',
    dst: [blocks(0, 4)],
    codec: 'none',
    blob: blob(0),
    decoderMemoryBytes: 1 << 20,
  };
  const manifest = (ops: Operation[], dontCare: Extent[] = []): Manifest => ({
    blockSizeBytes: BS,
    timestampSeconds: 1,
    sourceVersion: '',
    targetVersion: '',
    partitions: [
      {
        name: 'system',
        source: { sizeBytes: 8 * BS, sha256: new Uint8Array(32).fill(1), version: '', dontCare: [] },
        target: { sizeBytes: 8 * BS, sha256: new Uint8Array(32).fill(3), version: '', dontCare },
        operations: ops,
      },
    ],
    maxDecoderMemoryBytes: 1 << 20,
    requiredSpaceBytes: 8 * BS,
  });
  const blobBytes = (m: Manifest) =>
    m.partitions[0]!.operations.reduce((n, op) => n + ('blob' in op ? op.blob.sizeBytes : 0), 0);
  const refused = (m: Manifest, pattern: RegExp, header = genericTargetHeader()) =>
    expectOta(() => checkManifestInvariants(m, header, blobBytes(m)), 'PKG_BAD_MANIFEST', 4, pattern);

  it('round-trips, passes the invariants and needs minor 6; packages without it keep their minor', () => {
    const m = manifest([first, diff()]);
    const decoded = decodeManifest(encodeManifest(m), PLUGIN_WIRE_IDS);
    const op = decoded.partitions[0]!.operations[1]!;
    expect(op.type === 'diff' && op.targetSrc).toEqual([blocks(0, 4)]);
    checkManifestInvariants(decoded, genericTargetHeader(), 20);
    expect(minorVersionOf(genericTargetHeader(), decoded)).toBe(6);
    const without = manifest([first, diff({ targetSrc: undefined })]);
    expect(minorVersionOf(genericTargetHeader(), without)).toBe(0);
    // An empty list is the absent field: the same bytes as a package without target sources.
    expect(encodeManifest(manifest([first, diff({ targetSrc: [] })])).equals(encodeManifest(without))).toBe(true);
  });

  it('takes a DIFF that reads target blocks only (no old source), whose src_sha256 covers them', () => {
    const m = manifest([first, diff({ src: [] })]);
    const decoded = decodeManifest(encodeManifest(m), PLUGIN_WIRE_IDS);
    const op = decoded.partitions[0]!.operations[1]!;
    expect(op.type === 'diff' && op.src.length === 0 && op.targetSrc).toEqual([blocks(0, 4)]);
    checkManifestInvariants(decoded, genericTargetHeader(), 20);
    expect(minorVersionOf(genericTargetHeader(), decoded)).toBe(6);
    // Without target sources the same op is a sourceless DIFF, whose hash must be of no bytes.
    expectOta(
      () => decodeManifest(encodeManifest(manifest([first, diff({ src: [], targetSrc: undefined })])), PLUGIN_WIRE_IDS),
      'PKG_BAD_MANIFEST',
      4,
      /not the sha256 of no bytes/,
    );
  });

  it('refuses target_src_extents on an op other than DIFF, and too many of them, on the wire', () => {
    // A COPY carrying target sources: the wire form only, the model has no such field.
    const copy = manifest([
      first,
      { type: 'copy', dst: [blocks(4, 4)], src: [blocks(0, 4)], srcSha256: new Uint8Array(32) },
    ]);
    const wire = decodeMessageStrict(ManifestType, encodeManifest(copy), 'manifest');
    wire.partitions[0].operations[1].target_src_extents = [{ start_block: 0, block_count: 4 }];
    expectOta(
      () => decodeManifest(encodeMessage(ManifestType, wire), PLUGIN_WIRE_IDS),
      'PKG_BAD_MANIFEST',
      4,
      /op 1: copy operation must not have target_src_extents/,
    );
    // More extents than an op may hold are refused on the wire, before anything is decoded.
    const many = decodeMessageStrict(ManifestType, encodeManifest(manifest([first, diff()])), 'manifest');
    many.partitions[0].operations[1].target_src_extents = Array.from({ length: MAX_EXTENTS_PER_OPERATION + 1 }, () => ({
      start_block: 0,
      block_count: 1,
    }));
    expectOta(
      () => decodeManifest(encodeMessage(ManifestType, many), PLUGIN_WIRE_IDS),
      'PKG_BAD_MANIFEST',
      4,
      new RegExp(`more than ${MAX_EXTENTS_PER_OPERATION} extents`),
    );
  });

  it('refuses reads of blocks written later, by the op itself, by no op, or past the image', () => {
    refused(
      manifest([
        diff({ dst: [blocks(0, 4)], targetSrc: [blocks(4, 2)], blob: blob(0) }),
        { ...first, dst: [blocks(4, 4)], blob: blob(10) },
      ]),
      /op 0 reads target block 4, which no earlier op writes/,
    );
    refused(
      manifest([first, diff({ targetSrc: [blocks(3, 2)] })]),
      /op 1 reads target block 4, which no earlier op writes/,
    );
    // Blocks 4-7 of the target are DONT_CARE here: no op writes them, so none may be read.
    const dontCare = manifest(
      [{ ...first, dst: [blocks(0, 2)] }, diff({ dst: [blocks(2, 2)], targetSrc: [blocks(4, 1)] })],
      [blocks(4, 4)],
    );
    refused(dontCare, /reads target block 4, which no earlier op writes/);
    refused(
      manifest([first, diff({ targetSrc: [blocks(6, 4)] })]),
      /target source extent 6\+4 runs past the image's 8 blocks/,
    );
  });

  it('accepts reads across several earlier ops and extents in any order, refuses a gap between them', () => {
    const ops: Operation[] = [
      { ...first, dst: [blocks(2, 2)] },
      { ...first, dst: [blocks(0, 2)], blob: blob(10) },
      diff({ targetSrc: [blocks(3, 1), blocks(0, 4)], blob: blob(20) }),
    ];
    checkManifestInvariants(manifest(ops), genericTargetHeader(), 30);
    const gap: Operation[] = [
      { ...first, dst: [blocks(0, 1)] },
      { type: 'zero', dst: [blocks(1, 1)] },
      diff({ dst: [blocks(2, 6)], targetSrc: [blocks(0, 2)], blob: blob(10) }),
    ];
    checkManifestInvariants(manifest(gap), genericTargetHeader(), 20);
    const later: Operation[] = [
      gap[0]!,
      diff({ dst: [blocks(2, 6)], targetSrc: [blocks(0, 2)], blob: blob(10) }),
      gap[1]!,
    ];
    refused(manifest(later), /op 1 reads target block 1, which no earlier op writes/);
  });

  it('refuses them in an in-place package, and a source over 4 x the op limit counting both', () => {
    refused(
      manifest([first, diff()]),
      /reads the target image, which an in-place package does not allow/,
      genericTargetHeader({ updateMode: 'in-place', maxStashBytes: 0 }),
    );
    const big = manifest([
      { ...first, dst: [blocks(0, 2)] },
      { ...first, dst: [blocks(2, 2)], blob: blob(10) },
      { ...first, dst: [blocks(4, 2)], blob: blob(20) },
      diff({ dst: [blocks(6, 2)], src: [blocks(0, 8)], targetSrc: [blocks(0, 6)], blob: blob(30) }),
    ]);
    refused(
      big,
      /reads 57344 bytes, over 4 × the target's op limit/,
      genericTargetHeader({ maxOperationBytes: 2 * BS }),
    );
  });
});
