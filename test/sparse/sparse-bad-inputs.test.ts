// Malformed sparse images: every header and chunk defect, truncation at many offsets, byte flips,
// absurd sizes. Each must be a one-line ImageError (exit 3) with its code and, for chunk defects,
// the chunk index and header offset; never a crash, a hang or an allocation sized from the header.

import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors/ota-error.js';
import { MAX_SPARSE_IMAGE_BYTES, SparseChunkType } from '../../src/image/sparse-format.js';
import { SparseImageSource } from '../../src/image/sparse-image-source.js';
import { openImage } from '../../src/image/open-image.js';
import { openImageRange } from '../../src/image/open-image-range.js';
import { probeHeader } from '../../src/release/release-file.js';
import { seededRng, suiteSeed } from '../helpers/seeded-random.js';
import { SparseBuilder, expectImageError, scratchDir } from './sparse-test-kit.js';

const SEED = suiteSeed(0xbad5);
let scratch: ReturnType<typeof scratchDir>;
let n = 0;
beforeAll(() => {
  scratch = scratchDir();
});
afterAll(() => scratch.cleanup());

function save(file: Buffer): string {
  const path = join(scratch.dir, `bad-${n++}.simg`);
  writeFileSync(path, file);
  return path;
}

const open_ = (file: Buffer): Promise<SparseImageSource> => SparseImageSource.open(save(file));

/** A valid image with every chunk type: RAW, FILL, DONT_CARE, RAW, CRC32, FILL 0 + image_checksum. */
function valid(): SparseBuilder {
  const rng = seededRng(SEED);
  return new SparseBuilder(4096)
    .raw(rng.bytes(3 * 4096))
    .fill(0x55aa55aa, 4)
    .dontCare(6)
    .raw(rng.bytes(4096))
    .crc32()
    .fill(0, 2);
}

describe('bad sparse headers', () => {
  const cases: [string, Record<string, number>, string, string][] = [
    [
      'wrong magic',
      { magic: 0x12345678 },
      'SPARSE_BAD_HEADER',
      'bad magic at offset 0: expected 3a ff 26 ed, got 78 56 34 12',
    ],
    ['major version 2', { majorVersion: 2 }, 'SPARSE_BAD_HEADER', 'major_version at byte 4 is 2'],
    ['file_hdr_sz 32', { fileHeaderBytes: 32 }, 'SPARSE_BAD_HEADER', 'only 28-byte file headers are supported'],
    ['chunk_hdr_sz 16', { chunkHeaderBytes: 16 }, 'SPARSE_BAD_HEADER', 'only 12-byte chunk headers are supported'],
    ['blk_sz 0', { blockSizeBytes: 0 }, 'SPARSE_BAD_HEADER', 'blk_sz at byte 12 is 0'],
    ['blk_sz not a multiple of 4', { blockSizeBytes: 4098 }, 'SPARSE_BAD_HEADER', 'blk_sz at byte 12 is 4098'],
    ['total_blks 0', { totalBlocks: 0 }, 'IMAGE_EMPTY', 'total_blks is 0'],
  ];
  for (const [name, fields, code, text] of cases) {
    it(name, async () => {
      await expectImageError(open_(valid().build(fields)), code, text);
    });
  }

  it('minor version 5 is accepted (minor versions are compatible)', async () => {
    const src = await open_(valid().build({ minorVersion: 5 }));
    await src.close();
  });

  it('a file shorter than the 28-byte header', async () => {
    await expectImageError(
      open_(valid().build().subarray(0, 20)),
      'SPARSE_TRUNCATED',
      'file header cut short: the file is 20 bytes',
    );
  });

  it('absurd total_blks (0xFFFFFFFF × 4096 with one DONT_CARE chunk of that size) → IMAGE_TOO_LARGE without allocating', async () => {
    const file = new SparseBuilder(4096)
      .chunk(SparseChunkType.dontCare, 0xffffffff, 12)
      .build({ totalBlocks: 0xffffffff });
    const before = process.memoryUsage().arrayBuffers;
    await expectImageError(
      open_(file),
      'IMAGE_TOO_LARGE',
      `over the ${MAX_SPARSE_IMAGE_BYTES}-byte (64 GiB) limit`,
      'total_blks 4294967295 × blk_sz 4096',
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('a 16 GiB logical image (0xFFFFFFFF blocks of 4 bytes, one DONT_CARE chunk) opens with a one-entry table', async () => {
    const file = new SparseBuilder(4)
      .chunk(SparseChunkType.dontCare, 0xffffffff, 12)
      .build({ totalBlocks: 0xffffffff });
    const before = process.memoryUsage().arrayBuffers;
    const src = await open_(file);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    expect(src.sizeBytes).toBe(0xffffffff * 4);
    expect(src.knownRuns()).toEqual([{ kind: 'dont-care', offsetBytes: 0, sizeBytes: 0xffffffff * 4 }]);
    expect((await src.read(src.sizeBytes - 8, 16)).equals(Buffer.alloc(16))).toBe(true);
    await src.close();
  });

  it('a 1 GiB blk_sz with an image_checksum: the CRC pass streams, nothing is sized from blk_sz', async () => {
    const bs = 1024 ** 3;
    let crc = 0;
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < bs / zeros.length; i++) crc = crc32(zeros, crc);
    const b = new SparseBuilder(bs).chunk(SparseChunkType.dontCare, 1, 12);
    const before = process.memoryUsage().arrayBuffers;
    const src = await open_(b.build({ imageChecksum: crc }));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    expect(src.sizeBytes).toBe(bs);
    await src.close();
    await expectImageError(open_(b.build({ imageChecksum: crc ^ 1 })), 'SPARSE_CRC_MISMATCH', 'image_checksum');
  });

  it('absurd total_chunks with a short file → SPARSE_TRUNCATED, no allocation from the count', async () => {
    const b = valid();
    await expectImageError(
      open_(b.build({ totalChunks: 0xffffffff })),
      'SPARSE_TRUNCATED',
      `chunk 6 at byte ${b.build().length}:`,
      'the file ends after 6 of the 4294967295 chunks',
    );
  });
});

describe('bad sparse chunks', () => {
  const rng = seededRng(SEED + 1);
  const lead = (): SparseBuilder => new SparseBuilder(4096).raw(rng.bytes(4096)).fill(7, 1);
  const at = (b: SparseBuilder, i: number): string => `chunk ${i} at byte ${b.chunkOffsets[i]}: `;

  it('unknown chunk type', async () => {
    const b = lead().chunk(0xcac5, 1, 12);
    await expectImageError(open_(b.build()), 'SPARSE_BAD_CHUNK', `${at(b, 2)}unknown chunk type 0xcac5`);
  });

  const sizeCases: [string, number, number, number, number, string][] = [
    [
      'RAW total_sz 4 bytes short',
      SparseChunkType.raw,
      1,
      12 + 4092,
      4092,
      'RAW chunk of 1 blocks has total_sz 4104; expected 4108',
    ],
    ['FILL without its value', SparseChunkType.fill, 1, 12, 0, 'FILL chunk of 1 blocks has total_sz 12; expected 16'],
    [
      'DONT_CARE with data',
      SparseChunkType.dontCare,
      1,
      16,
      4,
      'DONT_CARE chunk of 1 blocks has total_sz 16; expected 12',
    ],
    ['CRC32 with 8 bytes', SparseChunkType.crc32, 0, 20, 8, 'CRC32 chunk of 0 blocks has total_sz 20; expected 16'],
    ['CRC32 covering blocks', SparseChunkType.crc32, 2, 16, 4, 'CRC32 chunk has chunk_sz 2; it must be 0'],
  ];
  for (const [name, type, blocks, totalBytes, payloadBytes, text] of sizeCases) {
    it(`total_sz inconsistent with the type: ${name}`, async () => {
      const b = lead().chunk(type, blocks, totalBytes, Buffer.alloc(payloadBytes)).dontCare(1);
      await expectImageError(open_(b.build()), 'SPARSE_BAD_CHUNK', `${at(b, 2)}${text}`);
    });
  }

  it('RAW chunk running past the end of the file', async () => {
    const b = lead().chunk(SparseChunkType.raw, 100, 12 + 100 * 4096, rng.bytes(4096));
    const file = b.build();
    await expectImageError(
      open_(file),
      'SPARSE_TRUNCATED',
      `${at(b, 2)}RAW chunk of 100 blocks runs past the end of the file (file is ${file.length} bytes)`,
    );
  });

  it('chunks covering fewer blocks than total_blks', async () => {
    const b = lead().dontCare(3);
    await expectImageError(
      open_(b.build({ totalBlocks: 9 })),
      'SPARSE_BAD_HEADER',
      'its 3 chunks cover 5 blocks, but the file header says total_blks 9',
    );
  });

  it('a chunk running past total_blks', async () => {
    const b = lead().dontCare(3).fill(1, 4);
    await expectImageError(
      open_(b.build({ totalBlocks: 7 })),
      'SPARSE_BAD_CHUNK',
      `${at(b, 3)}FILL chunk of 4 blocks starting at block 5 runs past total_blks 7`,
    );
  });

  it('more chunks than total_chunks', async () => {
    const b = lead().dontCare(3);
    await expectImageError(
      open_(b.build({ totalChunks: 2, totalBlocks: 2 })),
      'SPARSE_BAD_CHUNK',
      `${at(b, 2)}another chunk follows the 2 chunks the file header declares`,
    );
  });

  it('fewer chunks than total_chunks', async () => {
    const b = lead().dontCare(3);
    const file = b.build({ totalChunks: 5 });
    await expectImageError(
      open_(file),
      'SPARSE_TRUNCATED',
      `chunk 3 at byte ${file.length}: the file ends after 3 of the 5 chunks`,
    );
  });

  it('trailing bytes after the last chunk', async () => {
    const b = lead().dontCare(3);
    const file = Buffer.concat([b.build(), Buffer.from('junk!')]);
    await expectImageError(
      open_(file),
      'SPARSE_BAD_CHUNK',
      `chunk 3 at byte ${file.length - 5}: 5 trailing bytes after the last of the 3 chunks`,
    );
  });
});

describe('truncated and corrupted sparse images', () => {
  it('truncation at every header byte, every chunk boundary ±1, every chunk-header byte and 60 random offsets → SPARSE_TRUNCATED', async () => {
    const b = valid();
    const file = b.build({ checksum: true });
    const offsets = new Set<number>();
    for (let i = 0; i <= 28; i++) offsets.add(i);
    for (const o of b.chunkOffsets) for (let d = -1; d <= 16; d++) offsets.add(o + d);
    const rng = seededRng(SEED + 2);
    for (let i = 0; i < 60; i++) offsets.add(rng.int(0, file.length - 1));
    offsets.add(file.length - 1);
    for (const cut of [...offsets].filter((o) => o >= 0 && o < file.length).sort((x, y) => x - y)) {
      const err = await expectImageError(open_(file.subarray(0, cut)), 'SPARSE_TRUNCATED');
      if (cut >= 28) expect(err.message, `cut at ${cut}`).toMatch(/: chunk \d+ at byte \d+: /);
    }
    await (await open_(file)).close();
  });

  it('flipping any header byte or chunk-header byte, or any data byte of a CRC-covered image: an ImageError or a valid open, never anything else', async () => {
    const b = valid();
    const file = b.build({ checksum: true });
    const rng = seededRng(SEED + 3);
    const positions = new Set<number>();
    for (let i = 0; i < 28; i++) positions.add(i);
    for (const o of b.chunkOffsets) for (let d = 0; d < 16; d++) positions.add(o + d);
    for (let i = 0; i < 40; i++) positions.add(rng.int(28, file.length - 1));
    let rejected = 0;
    for (const pos of positions) {
      if (pos >= file.length) continue;
      const bad = Buffer.from(file);
      bad[pos]! ^= 1 << rng.int(0, 7);
      try {
        const src = await open_(bad);
        await src.read(0, src.sizeBytes);
        await src.close();
      } catch (err) {
        expect(err, `flip at byte ${pos}: ${String(err)}`).toBeInstanceOf(ImageError);
        expect((err as ImageError).exitCode).toBe(3);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(positions.size / 2);
    // Data bytes are covered by the CRC: a flip in RAW data or a fill value must fail.
    for (const pos of [b.chunkOffsets[0]! + 12 + 5000, b.chunkOffsets[1]! + 12, b.chunkOffsets[5]! + 13]) {
      const bad = Buffer.from(file);
      bad[pos]! ^= 4;
      await expectImageError(open_(bad), 'SPARSE_CRC_MISMATCH');
    }
  });

  it('fromHandle leaves the handle open for its caller on failure', async () => {
    const path = save(valid().build().subarray(0, 100));
    const fh = await open(path, 'r');
    await expectImageError(SparseImageSource.fromHandle(path, fh, 100), 'SPARSE_TRUNCATED');
    expect((await fh.stat()).size).toBe(100);
    await fh.close();
  });

  it('a directory is IMAGE_NOT_FILE', async () => {
    await expectImageError(SparseImageSource.open(scratch.dir), 'IMAGE_NOT_FILE');
  });
});

describe('a sparse image whose magic is damaged', () => {
  // Read as raw, its container bytes (headers, FILL values, no DONT_CARE gaps) would pass for the
  // image it holds: a package built from it would write them to the partition.
  const damaged: [string, (file: Buffer) => void][] = [
    ['one magic byte flipped', (file) => (file[0]! ^= 0x01)],
    ['the magic zeroed', (file) => file.fill(0, 0, 4)],
    ['the magic overwritten with text', (file) => file.write('RAW!', 0, 'latin1')],
  ];
  for (const [name, damage] of damaged) {
    it(`${name}: openImage, openImageRange and a release's probe refuse it (SPARSE_BAD_HEADER), never read it as raw`, async () => {
      const file = valid().build();
      damage(file);
      const path = save(file);
      const got = Array.from(file.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      const text = `damaged magic (expected 3a ff 26 ed at offset 0, got ${got})`;
      await expectImageError(openImage(path), 'SPARSE_BAD_HEADER', path, text);
      const inContainer = Buffer.concat([Buffer.alloc(512, 7), file]);
      const containerPath = save(inContainer);
      await expectImageError(
        openImageRange(containerPath, 512, file.length, 'fw.pac:system.img'),
        'SPARSE_BAD_HEADER',
        'fw.pac:system.img',
        text,
      );
      expect(() => probeHeader(file.subarray(0, 28), file.length, 'system: system.img')).toThrow(
        expect.objectContaining({ code: 'SPARSE_BAD_HEADER', message: expect.stringContaining(text) }),
      );
    });
  }

  it('raw images are still raw: random bytes, zeros, and a sparse-like header with another block size rule', async () => {
    const rng = seededRng(SEED + 1);
    const heads: Buffer[] = [rng.bytes(8192), Buffer.alloc(8192)];
    // Bytes 4-11 of a sparse header, but a block size that is not a multiple of 4.
    const near = valid().build({ magic: 0, blockSizeBytes: 4098 });
    heads.push(Buffer.concat([near, Buffer.alloc(8192 - (near.length % 4096))]).subarray(0, 8192));
    for (const head of heads) {
      const src = await openImage(save(head));
      expect(src.sizeBytes).toBe(8192);
      await src.close();
      expect(probeHeader(head.subarray(0, 28), 8192, 'x').sparse).toBe(false);
    }
  });
});
