// CRC32 chunks and the header image_checksum. Semantics (libsparse sparse_read.cpp, confirmed with
// libsparse's verifying import): one running crc32 from 0 over the EXPANDED image, FILL expanded,
// DONT_CARE as zeros, never reset; each CRC32 chunk carries it for the blocks before it. simg2img
// does not verify CRCs at all; libsparse's writer computes them differently (see fixtures/).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SparseImageSource } from '../../src/image/sparse-image-source.js';
import { seededRng } from '../helpers/seeded-random.js';
import { SparseBuilder, expectImageError, runTool, runToolOk, scratchDir } from './sparse-test-kit.js';

let scratch: ReturnType<typeof scratchDir>;
let n = 0;
beforeAll(() => {
  scratch = scratchDir();
});
afterAll(() => scratch.cleanup());

function save(file: Buffer): string {
  const path = join(scratch.dir, `crc-${n++}.simg`);
  writeFileSync(path, file);
  return path;
}

async function expectReads(path: string, expanded: Buffer): Promise<void> {
  const src = await SparseImageSource.open(path);
  try {
    expect((await src.read(0, src.sizeBytes)).equals(expanded)).toBe(true);
  } finally {
    await src.close();
  }
}

/** RAW, FILL, CRC, DONT_CARE, RAW, zero FILL, DONT_CARE, with CRC32 chunks at the start, middle and end. */
function sample(seed: number): SparseBuilder {
  const rng = seededRng(seed);
  return new SparseBuilder(4096)
    .crc32()
    .raw(rng.bytes(8192))
    .fill(0xdeadbeef, 3)
    .crc32()
    .dontCare(3)
    .raw(rng.bytes(4096))
    .fill(0, 2)
    .dontCare(5)
    .crc32();
}

describe('sparse CRC32 verification', () => {
  it('accepts correct CRC32 chunks and a correct image_checksum', async () => {
    const b = sample(1);
    await expectReads(save(b.build({ checksum: true })), b.expanded());
    await expectReads(save(b.build()), b.expanded());
  });

  it('accepts an image_checksum without CRC32 chunks', async () => {
    const b = new SparseBuilder(1024).raw(seededRng(2).bytes(3072)).fill(0x01020304, 7).dontCare(2);
    await expectReads(save(b.build({ checksum: true })), b.expanded());
  });

  it('checks CRC32 chunks that sit between chunks merged in the table (DONT_CARE|CRC|DONT_CARE, FILL|CRC|FILL)', async () => {
    const good = new SparseBuilder(4096)
      .raw(seededRng(3).bytes(4096))
      .dontCare(2)
      .crc32()
      .dontCare(3)
      .fill(9, 2)
      .crc32()
      .fill(9, 1)
      .crc32()
      .crc32();
    const path = save(good.build({ checksum: true }));
    await expectReads(path, good.expanded());
    const src = await SparseImageSource.open(path);
    expect(src.knownRuns()).toEqual([
      { kind: 'dont-care', offsetBytes: 4096, sizeBytes: 5 * 4096 },
      { kind: 'fill', offsetBytes: 6 * 4096, sizeBytes: 3 * 4096, fillValue: 9 },
    ]);
    await src.close();
    const bad = new SparseBuilder(4096).raw(seededRng(3).bytes(4096)).dontCare(2);
    bad.crc32(bad.crc ^ 1).dontCare(3);
    await expectImageError(
      SparseImageSource.open(save(bad.build())),
      'SPARSE_CRC_MISMATCH',
      `chunk 2 at byte ${bad.chunkOffsets[2]}:`,
      'before block 3',
    );
  });

  it('rejects a wrong CRC32 chunk, naming the chunk and its offset', async () => {
    const b = sample(4);
    const file = b.build();
    // Chunk 3 is the middle CRC32 chunk: corrupt its value.
    const at = b.chunkOffsets[3]!;
    file.writeUInt32LE((file.readUInt32LE(at + 12) ^ 0x80) >>> 0, at + 12);
    await expectImageError(
      SparseImageSource.open(save(file)),
      'SPARSE_CRC_MISMATCH',
      `chunk 3 at byte ${at}:`,
      'CRC32 chunk expects',
    );
  });

  it('rejects corrupted RAW data and corrupted fill values through the CRC', async () => {
    const b = sample(5);
    const rawData = b.build();
    rawData[b.chunkOffsets[1]! + 12 + 100]! ^= 1;
    await expectImageError(
      SparseImageSource.open(save(rawData)),
      'SPARSE_CRC_MISMATCH',
      `chunk 3 at byte ${b.chunkOffsets[3]}:`,
    );
    const fillValue = b.build();
    fillValue[b.chunkOffsets[6]! + 12]! ^= 1;
    await expectImageError(
      SparseImageSource.open(save(fillValue)),
      'SPARSE_CRC_MISMATCH',
      `chunk 8 at byte ${b.chunkOffsets[8]}:`,
    );
  });

  it('rejects a wrong image_checksum', async () => {
    const b = sample(6);
    const path = save(b.build({ imageChecksum: (b.crc ^ 0x10) >>> 0 }));
    await expectImageError(SparseImageSource.open(path), 'SPARSE_CRC_MISMATCH', 'image_checksum', 'in the file header');
  });

  it('counts DONT_CARE as zeros and FILL expanded (not as absent, not one block)', async () => {
    // A CRC computed over RAW data only must fail, as libsparse's verifying reader fails it.
    const rng = seededRng(7);
    const data = rng.bytes(4096);
    const b = new SparseBuilder(4096).raw(data).dontCare(2).fill(0xabcdef01, 2);
    const rawOnly = new SparseBuilder(4096).raw(data).crc;
    b.crc32(rawOnly);
    await expectImageError(SparseImageSource.open(save(b.build())), 'SPARSE_CRC_MISMATCH', 'chunk 3 at byte');
  });

  it('simg2img does not verify CRCs: it expands good and bad ones alike', async () => {
    const good = sample(8);
    const goodOut = join(scratch.dir, 'good.raw');
    runToolOk('simg2img', [save(good.build({ checksum: true })), goodOut]);
    expect(readFileSync(goodOut).equals(good.expanded())).toBe(true);
    const bad = sample(8).build({ imageChecksum: 1 });
    bad.writeUInt32LE(0x12345678, good.chunkOffsets[3]! + 12);
    const badOut = join(scratch.dir, 'bad.raw');
    runToolOk('simg2img', [save(bad), badOut]);
    expect(readFileSync(badOut).equals(good.expanded())).toBe(true);
  });

  it("rejects the CRC32 chunk libsparse's own writer emits (one block per FILL, no DONT_CARE), as libsparse's reader does", async () => {
    const fixture = new URL('./fixtures/libsparse-writer-crc.simg', import.meta.url).pathname;
    const expandedPath = join(scratch.dir, 'fixture.raw');
    expect(runTool('simg2img', [fixture, expandedPath]).status).toBe(0);
    await expectImageError(
      SparseImageSource.open(fixture),
      'SPARSE_CRC_MISMATCH',
      `chunk 6 at byte 12396:`,
      'expects 0x920f4398',
    );
  });
});
