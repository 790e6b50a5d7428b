// sparse-format.ts on its own: header and chunk-header round trips at the documented offsets,
// the chunk size rules, and the table crc32 fallback agreeing with zlib.

import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  MAX_SPARSE_IMAGE_BYTES,
  SparseChunkType,
  decodeSparseChunkHeader,
  decodeSparseFileHeader,
  encodeSparseChunkHeader,
  encodeSparseFileHeader,
  expectedSparseChunkBytes,
  sparseChunkHeaderProblem,
  sparseFileHeader,
  sparseFileHeaderProblem,
} from '../../src/image/sparse-format.js';
import { tableCrc32 } from '../../src/hashing/crc32.js';
import { seededRng } from '../helpers/seeded-random.js';

describe('sparse-format', () => {
  it('encodes the 28-byte file header little-endian at the spec offsets and decodes it back', () => {
    const h = sparseFileHeader(4096, 0x00f20304, 7, 0xcafebabe);
    const bytes = encodeSparseFileHeader(h);
    expect(bytes.toString('hex')).toBe(
      '3aff26ed' + '0100' + '0000' + '1c00' + '0c00' + '00100000' + '0403f200' + '07000000' + 'bebafeca',
    );
    expect(decodeSparseFileHeader(bytes)).toEqual(h);
    expect(sparseFileHeaderProblem(h)).toBeUndefined();
  });

  it('encodes the 12-byte chunk header and decodes it at an offset', () => {
    const c = { chunkType: SparseChunkType.fill, reserved: 0, chunkBlocks: 9, totalBytes: 16 };
    const bytes = Buffer.concat([Buffer.alloc(3), encodeSparseChunkHeader(c)]);
    expect(bytes.subarray(3).toString('hex')).toBe('c2ca0000' + '09000000' + '10000000');
    expect(decodeSparseChunkHeader(bytes, 3)).toEqual(c);
  });

  it("knows each chunk type's total_sz", () => {
    expect(expectedSparseChunkBytes(SparseChunkType.raw, 3, 4096)).toBe(12 + 3 * 4096);
    expect(expectedSparseChunkBytes(SparseChunkType.fill, 3, 4096)).toBe(16);
    expect(expectedSparseChunkBytes(SparseChunkType.dontCare, 3, 4096)).toBe(12);
    expect(expectedSparseChunkBytes(SparseChunkType.crc32, 0, 4096)).toBe(16);
    expect(expectedSparseChunkBytes(0x1234, 0, 4096)).toBeUndefined();
    // A RAW chunk too large for u32 total_sz can never be consistent.
    expect(
      sparseChunkHeaderProblem(
        { chunkType: SparseChunkType.raw, reserved: 0, chunkBlocks: 0x100000, totalBytes: 12 },
        4096,
      ),
    ).toMatch(/expected 4294967308/);
  });

  it('puts the 64 GiB limit exactly at total_blks × blk_sz', () => {
    expect(sparseFileHeaderProblem(sparseFileHeader(4096, MAX_SPARSE_IMAGE_BYTES / 4096, 1))).toBeUndefined();
    expect(sparseFileHeaderProblem(sparseFileHeader(4096, MAX_SPARSE_IMAGE_BYTES / 4096 + 1, 1))?.code).toBe(
      'IMAGE_TOO_LARGE',
    );
  });

  it('table crc32 (for Node < 20.15) equals zlib.crc32, chained or not', () => {
    const rng = seededRng(42);
    for (let i = 0; i < 20; i++) {
      const a = rng.bytes(rng.int(0, 3000));
      const b = rng.bytes(rng.int(0, 3000));
      expect(tableCrc32(a)).toBe(crc32(a));
      expect(tableCrc32(b, tableCrc32(a))).toBe(crc32(Buffer.concat([a, b])));
    }
  });
});
