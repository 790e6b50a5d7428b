// Target sources (format 1.6, FORMAT.md §4): a DIFF in an A/B package reads, after its old-image
// source, blocks of the target that earlier ops wrote. The manifest codec, the invariants that
// keep a hostile manifest from reading what is not yet written, the minor a package must state;
// then a build whose new image repeats new content: the copy is coded against the first one, the
// package applies to a raw file, a sparse file and a device, and only targets that read 1.6 get it.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minorVersionOf } from '../../src/format/format-version.js';
import { decodeManifest, encodeManifest } from '../../src/format/manifest-codec.js';
import { MAX_EXTENTS_PER_OPERATION } from '../../src/format/limits.js';
import { decodeMessageStrict, encodeMessage } from '../../src/format/proto-message.js';
import { ManifestType } from '../../src/format/schema.js';
import { checkManifestInvariants } from '../../src/format/manifest-invariants.js';
import { applyPackage, buildPackages, inspectPackage, verifyPackage } from '../../src/index.js';
import { openImage } from '../../src/image/open-image.js';
import type { Extent } from '../../src/model/extent.js';
import type { Manifest } from '../../src/model/manifest.js';
import type { DiffOperation, Operation } from '../../src/model/operation.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { PLUGIN_WIRE_IDS } from '../../src/package/plugin-wire-ids.js';
import { testPrivateKeyPath } from '../../src/signing/test-keys.js';
import { syntheticImage } from '../helpers/edit-images.js';
import { repeatedContentPair } from '../helpers/repeated-content.js';
import { withSmallTmpfs } from '../helpers/small-tmpfs.js';
import { expectOta } from '../helpers/expect-ota.js';
import { HEADER_FIELD, resign } from '../helpers/package-bytes.js';
import { genericTargetHeader } from '../helpers/target-header.js';

const MiB = 1024 * 1024;
const BS = 4096;
const work = mkdtempSync(join(tmpdir(), 'ota-target-source-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const quiet = { warn() {}, progress() {} };
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

describe('a build whose new image repeats new content', () => {
  // New content at 3 MiB and an edited copy at 6 MiB, like nothing in the old image.
  const { old, next, fresh, freshAtBytes, copy, copyAtBytes } = repeatedContentPair();
  const oldPath = join(work, 'old.img');
  const newPath = join(work, 'new.img');
  const build = (outDir: string, targets = 'generic', jobs = 1) =>
    buildPackages({ oldPath, newPath, outDir: join(work, outDir), targets, jobs, timestampSeconds: 1 }).then(
      (b) => b.packages[0]!.path,
    );
  const diffsOf = async (path: string) => {
    const reader = await PackageReader.open(path);
    await reader.close();
    return reader.manifest.partitions[0]!.operations.filter((op): op is DiffOperation => op.type === 'diff');
  };
  let pkg = '';
  beforeAll(async () => {
    writeFileSync(oldPath, old);
    writeFileSync(newPath, next);
    pkg = await build('out');
  }, 120_000);

  it('codes the copy against the first one, as format 1.6', async () => {
    expect(readFileSync(pkg)[HEADER_FIELD.formatMinor]).toBe(6);
    const reading = (await diffsOf(pkg)).filter((op) => (op.targetSrc?.length ?? 0) > 0);
    expect(reading.length).toBeGreaterThan(0);
    const first = { start: freshAtBytes / BS, end: (freshAtBytes + fresh.length) / BS };
    for (const op of reading) {
      // Only the copy's ops read the target, each the blocks where the first copy was written.
      const at = op.dst[0]!.startBlock;
      expect(at >= copyAtBytes / BS && at < (copyAtBytes + copy.length) / BS, JSON.stringify(op.dst)).toBe(true);
      expect(op.targetSrc!.every((e) => e.startBlock + e.blockCount <= at)).toBe(true);
      expect(op.targetSrc!.some((e) => e.startBlock <= first.start && e.startBlock + e.blockCount >= first.end)).toBe(
        true,
      );
    }
    // The copy costs next to nothing: a few edits.
    expect(reading.reduce((n, op) => n + op.blob.sizeBytes, 0)).toBeLessThan(2000);
    // inspect says how much the package reads back.
    const report = await inspectPackage({ packagePath: pkg, reporter: quiet });
    const bytes = reading.reduce((n, op) => n + op.targetSrc!.reduce((m, e) => m + e.blockCount * BS, 0), 0);
    expect(report.partitions[0]!.targetReads).toEqual({ ops: reading.length, bytes });
  });

  it('is smaller than for a target that reads at most 1.5, which gets none', async () => {
    const profile = {
      ...JSON.parse(readFileSync(new URL('../../profiles/generic.json', import.meta.url), 'utf8')),
      id: 'generic15',
      maxFormatMinor: 5,
    };
    const profilePath = join(work, 'generic15.json');
    writeFileSync(profilePath, JSON.stringify(profile));
    const older = await build('out15', profilePath);
    expect(readFileSync(older)[HEADER_FIELD.formatMinor]).toBeLessThanOrEqual(5);
    expect((await diffsOf(older)).every((op) => op.targetSrc === undefined)).toBe(true);
    // One build for a 1.6 target and a 1.5 one encodes each chunk once: neither gets them.
    const mixed = await buildPackages({
      oldPath,
      newPath,
      outDir: join(work, 'mixed'),
      targets: `generic,${profilePath}`,
      jobs: 1,
      timestampSeconds: 1,
    });
    for (const p of mixed.packages)
      expect(
        (await diffsOf(p.path)).every((op) => op.targetSrc === undefined),
        p.path,
      ).toBe(true);
    // Without them the copy is coded again, at about what the first copy costs (~260 KB).
    expect(readFileSync(older).length - readFileSync(pkg).length).toBeGreaterThan(200_000);
  }, 120_000);

  it('builds the same bytes with --jobs 2', async () => {
    expect(readFileSync(await build('out-jobs2', 'generic', 2)).equals(readFileSync(pkg))).toBe(true);
  }, 120_000);

  it('applies to a raw file, a sparse file and a device holding garbage, and verifies', async () => {
    const raw = join(work, 'applied.img');
    await applyPackage({ packagePath: pkg, oldPath, outputPath: raw, reporter: quiet });
    expect(readFileSync(raw).equals(next)).toBe(true);
    const sparse = join(work, 'applied.simg');
    await applyPackage({ packagePath: pkg, oldPath, outputPath: sparse, outputFormat: 'sparse', reporter: quiet });
    const expanded = await openImage(sparse);
    expect((await expanded.read(0, next.length)).equals(next)).toBe(true);
    await expanded.close();
    // A device is written in place: what the op reads back must be what earlier ops wrote there.
    const device = join(work, 'device.img');
    writeFileSync(device, syntheticImage(next.length, 73));
    await applyPackage({ packagePath: pkg, oldPath, outputPath: device, outputAsBlockDevice: true, reporter: quiet });
    expect(readFileSync(device).equals(next)).toBe(true);
    await verifyPackage({ packagePath: pkg, oldPath, reporter: quiet });
  }, 120_000);

  it('asks for room for a raw stage before a sparse output, whose ops read back', async () => {
    // 20 MiB: the raw image (8 MiB) and the 8 MiB scratch fit, a raw stage beside them does not.
    const small = join(work, 'small');
    await withSmallTmpfs(small, 20, async () => {
      const sparse = join(small, 'out.simg');
      await expect(
        applyPackage({ packagePath: pkg, oldPath, outputPath: sparse, outputFormat: 'sparse', reporter: quiet }),
      ).rejects.toMatchObject({ code: 'NO_SPACE' });
      expect(readdirSync(small)).toEqual([]);
      await applyPackage({ packagePath: pkg, oldPath, outputPath: join(small, 'out.img'), reporter: quiet });
      expect(readFileSync(join(small, 'out.img')).equals(next)).toBe(true);
    });
  });

  it('is refused when it states minor 5, even when re-signed', async () => {
    const bytes = Buffer.from(readFileSync(pkg));
    bytes[HEADER_FIELD.formatMinor] = 5;
    const mutated = join(work, 'minor-5.otapkg');
    writeFileSync(mutated, resign(bytes, readFileSync(testPrivateKeyPath('ed25519'), 'utf8')));
    await expect(inspectPackage({ packagePath: mutated, reporter: quiet })).rejects.toMatchObject({
      code: 'PKG_BAD_MANIFEST',
      exitCode: 4,
      message: expect.stringMatching(/uses 1\.6 features/),
    });
  });
});

describe('a grown image whose new part repeats itself', () => {
  // Old: 4 MiB. New: 8 MiB, new content at 4.5 MiB and an edited copy at 6.5 MiB, both past the
  // old image's end: the copy's op has no old source, only the target.
  const fresh = syntheticImage(384 * 1024, 81);
  const copy = Buffer.from(fresh);
  for (let i = 0; i < 20; i++) copy[i * 17_000 + 3] = copy[i * 17_000 + 3]! ^ 0x77;
  const old = syntheticImage(4 * MiB, 82);
  const next = Buffer.concat([old, Buffer.alloc(4 * MiB - 1000)]);
  fresh.copy(next, 4.5 * MiB);
  copy.copy(next, 6.5 * MiB);
  const dir = join(work, 'grown');
  const oldPath = join(dir, 'old.img');
  const newPath = join(dir, 'new.img');
  let pkg = '';
  beforeAll(async () => {
    mkdirSync(dir);
    writeFileSync(oldPath, old);
    writeFileSync(newPath, next);
    const built = await buildPackages({
      oldPath,
      newPath,
      outDir: join(dir, 'out'),
      targets: 'generic',
      jobs: 1,
      timestampSeconds: 1,
    });
    pkg = built.packages[0]!.path;
  }, 120_000);

  it('codes the copy from the target alone and applies it to a raw file and a device', async () => {
    const reader = await PackageReader.open(pkg);
    await reader.close();
    const reading = reader.manifest.partitions[0]!.operations.filter(
      (op): op is DiffOperation => op.type === 'diff' && (op.targetSrc?.length ?? 0) > 0,
    );
    expect(reading.length).toBeGreaterThan(0);
    expect(reading.some((op) => op.src.length === 0)).toBe(true);
    expect(reading.reduce((n, op) => n + op.blob.sizeBytes, 0)).toBeLessThan(3000);
    // The image's size is not a whole number of blocks: its last block is padded on every output.
    const raw = join(dir, 'applied.img');
    await applyPackage({ packagePath: pkg, oldPath, outputPath: raw, reporter: quiet });
    expect(readFileSync(raw).equals(next)).toBe(true);
    // An image that ends inside a block has no sparse form: refused up front, nothing written.
    const sparse = join(dir, 'applied.simg');
    await expect(
      applyPackage({ packagePath: pkg, oldPath, outputPath: sparse, outputFormat: 'sparse', reporter: quiet }),
    ).rejects.toMatchObject({ code: 'OUTPUT_FORMAT_SIZE', exitCode: 2 });
    expect(readdirSync(dir).filter((n) => n.includes('applied.simg'))).toEqual([]);
    const device = join(dir, 'device.img');
    writeFileSync(device, syntheticImage(8 * MiB, 83));
    await applyPackage({ packagePath: pkg, oldPath, outputPath: device, outputAsBlockDevice: true, reporter: quiet });
    expect(readFileSync(device).subarray(0, next.length).equals(next)).toBe(true);
  }, 120_000);

  it('verifies with and without the old image', async () => {
    await verifyPackage({ packagePath: pkg, reporter: quiet });
    await verifyPackage({ packagePath: pkg, oldPath, reporter: quiet });
  }, 120_000);
});
