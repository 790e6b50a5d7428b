// SparseImageWriter: seeded random sequences of writeData / writeFill / skipTo / writeDontCare must
// expand with the real simg2img to the expected bytes, report the sha256 of that expansion, read
// back identically through SparseImageSource, and use FILL for every repeated-value block and
// the fewest chunks (adjacent chunks of one kind merged). Plus the API's refusals.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IoError } from '../../src/errors/ota-error.js';
import { SparseChunkType } from '../../src/image/sparse-format.js';
import { SparseImageSource } from '../../src/image/sparse-image-source.js';
import { SPARSE_WRITER_MAX_RAW_CHUNK_BYTES, SparseImageWriter } from '../../src/image/sparse-image-writer.js';
import { seededRng, suiteSeed, type Rng } from '../helpers/seeded-random.js';
import { isPeriodicBlock, listChunks, runToolOk, scratchDir, type ListedChunk } from './sparse-test-kit.js';

const SEED = suiteSeed(0x3717);
let scratch: ReturnType<typeof scratchDir>;
let n = 0;
beforeAll(() => {
  scratch = scratchDir();
});
afterAll(() => scratch.cleanup());

/** Random blocks: random bytes, zeros, a repeated random u32, or random with a periodic tail. */
function randomBlocks(rng: Rng, count: number, bs: number): Buffer {
  const out = Buffer.alloc(count * bs);
  for (let i = 0; i < count;) {
    const run = Math.min(count - i, rng.int(1, 6));
    const kind = rng.int(0, 3);
    const from = i * bs;
    const to = (i + run) * bs;
    if (kind === 0) rng.bytes(to - from).copy(out, from);
    else if (kind === 2) out.fill(rng.bytes(4), from, to);
    else if (kind === 3) {
      out.fill(0x11, from, to);
      out[to - 1] = 0x12;
    } // almost periodic
    i += run;
  }
  return out;
}

/** Asserts the chunk list is minimal: FILL wherever a block repeats one u32, no mergeable neighbours. */
function expectWellFormedChunks(chunks: ListedChunk[], file: Buffer, bs: number, maxRawBlocks: number): void {
  for (const [i, c] of chunks.entries()) {
    if (c.type === SparseChunkType.raw) {
      for (let b = 0; b < c.blocks; b++) {
        const at = c.offsetBytes + 12 + b * bs;
        expect(isPeriodicBlock(file.subarray(at, at + bs)), `RAW chunk ${i} block ${b} repeats one value`).toBe(false);
      }
    }
    const prev = chunks[i - 1];
    if (!prev || prev.type !== c.type) continue;
    if (c.type === SparseChunkType.raw)
      expect(prev.blocks, `RAW chunks ${i - 1} and ${i} not merged`).toBe(maxRawBlocks);
    else if (c.type === SparseChunkType.fill)
      expect(prev.fillValue, `FILL chunks ${i - 1} and ${i} not merged`).not.toBe(c.fillValue);
    else expect.fail(`adjacent DONT_CARE chunks ${i - 1} and ${i}`);
  }
}

async function roundTrip(seed: number, bs: number, totalBlocks: number): Promise<Record<string, number>> {
  const rng = seededRng(seed);
  const expected = Buffer.alloc(totalBlocks * bs);
  const path = join(scratch.dir, `w-${n++}.simg`);
  const writer = await SparseImageWriter.create(path, bs, totalBlocks);
  let pos = 0;
  while (pos < totalBlocks && rng.int(0, 20) > 0) {
    const start = pos + (rng.int(0, 3) === 0 ? rng.int(1, 8) : 0);
    const count = Math.min(totalBlocks - start, rng.int(1, 24));
    if (count <= 0) break;
    const op = rng.int(0, 9);
    if (op < 6) {
      const data = randomBlocks(rng, count, bs);
      await writer.writeData(start, data);
      data.copy(expected, start * bs);
    } else if (op < 8) {
      const value = rng.int(0, 2) === 0 ? 0 : rng.int(0, 0xffffffff);
      await writer.writeFill(start, count, value);
      const le = Buffer.alloc(4);
      le.writeUInt32LE(value, 0);
      expected.fill(le, start * bs, (start + count) * bs);
    } else if (op === 8) {
      await writer.skipTo(start);
    } else {
      await writer.writeDontCare(start, count);
    }
    pos = Math.max(pos, op === 8 ? start : start + count);
    expect(writer.positionBlocks).toBe(pos);
  }
  const result = await writer.finish();
  const file = readFileSync(path);
  expect(result.sizeBytes).toBe(file.length);
  const out = join(scratch.dir, `w-${n++}.raw`);
  runToolOk('simg2img', [path, out]);
  const expanded = readFileSync(out);
  expect(expanded.equals(expected), `seed ${seed}: simg2img expansion differs`).toBe(true);
  expect(result.expandedSha256.equals(createHash('sha256').update(expanded).digest())).toBe(true);
  const src = await SparseImageSource.open(path);
  expect((await src.read(0, src.sizeBytes)).equals(expected)).toBe(true);
  await src.close();
  const { header, chunks } = listChunks(file);
  expect(header.totalChunks).toBe(chunks.length);
  expect(header.imageChecksum).toBe(0);
  expectWellFormedChunks(chunks, file, bs, Math.floor(SPARSE_WRITER_MAX_RAW_CHUNK_BYTES / bs));
  const counts: Record<string, number> = {};
  for (const c of chunks) counts[c.type.toString(16)] = (counts[c.type.toString(16)] ?? 0) + 1;
  return counts;
}

describe('SparseImageWriter', () => {
  it('random writeData / writeFill / skipTo / writeDontCare sequences expand with simg2img to the expected bytes', async () => {
    const totals = { cac1: 0, cac2: 0, cac3: 0 };
    for (let i = 0; i < 24; i++) {
      const bs = [4096, 1024, 512, 4][i % 4]!;
      const counts = await roundTrip(SEED + i, bs, seededRng(SEED + i).int(1, 300));
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += counts[k] ?? 0;
    }
    expect(totals.cac1).toBeGreaterThan(10);
    expect(totals.cac2).toBeGreaterThan(10);
    expect(totals.cac3).toBeGreaterThan(10);
  });

  it('zero and repeated-value blocks inside writeData become FILL chunks, merged by value', async () => {
    const bs = 4096;
    const path = join(scratch.dir, 'fills.simg');
    const w = await SparseImageWriter.create(path, bs, 12);
    const data = Buffer.alloc(10 * bs); // blocks 0-2 zero, 3 random, 4-5 0xabababab, 6-9 zero
    seededRng(SEED)
      .bytes(bs)
      .copy(data, 3 * bs);
    data.fill(0xab, 4 * bs, 6 * bs);
    await w.writeData(0, data);
    await w.finish();
    const { chunks } = listChunks(readFileSync(path));
    expect(chunks.map((c) => [c.type, c.blocks, c.fillValue])).toEqual([
      [SparseChunkType.fill, 3, 0],
      [SparseChunkType.raw, 1, undefined],
      [SparseChunkType.fill, 2, 0xabababab],
      [SparseChunkType.fill, 4, 0],
      [SparseChunkType.dontCare, 2, undefined],
    ]);
  });

  it(`splits RAW runs longer than ${SPARSE_WRITER_MAX_RAW_CHUNK_BYTES} bytes`, async () => {
    const bs = 4096;
    const blocks = (SPARSE_WRITER_MAX_RAW_CHUNK_BYTES / bs) * 2 + 7;
    const path = join(scratch.dir, 'long-raw.simg');
    const w = await SparseImageWriter.create(path, bs, blocks);
    const data = seededRng(SEED + 1).bytes(blocks * bs);
    await w.writeData(0, data.subarray(0, 100 * bs));
    await w.writeData(100, data.subarray(100 * bs));
    const result = await w.finish();
    const { chunks } = listChunks(readFileSync(path));
    expect(chunks.map((c) => c.blocks)).toEqual([1024, 1024, 7]);
    expect(result.expandedSha256.equals(createHash('sha256').update(data).digest())).toBe(true);
  });

  it('refuses existing files, backward or oversized writes, and use after finish; abort deletes', async () => {
    const path = join(scratch.dir, 'exists.simg');
    writeFileSync(path, 'keep me');
    const err = await SparseImageWriter.create(path, 4096, 4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IoError);
    expect((err as IoError).code).toBe('IO_EEXIST');
    expect(readFileSync(path, 'utf8')).toBe('keep me');

    await expect(SparseImageWriter.create(join(scratch.dir, 'x.simg'), 4095, 4)).rejects.toThrow(RangeError);
    await expect(SparseImageWriter.create(join(scratch.dir, 'y.simg'), 4096, 0)).rejects.toThrow(RangeError);
    await expect(SparseImageWriter.create(join(scratch.dir, 'z.simg'), 4096, 2 ** 32)).rejects.toThrow(RangeError);

    const p2 = join(scratch.dir, 'aborted.simg');
    const w = await SparseImageWriter.create(p2, 4096, 8);
    await w.writeFill(2, 2, 5);
    await expect(w.writeData(1, Buffer.alloc(4096))).rejects.toThrow(RangeError);
    await expect(w.writeData(4, Buffer.alloc(100))).rejects.toThrow(RangeError);
    await expect(w.writeFill(6, 3, 1)).rejects.toThrow(RangeError);
    await w.abort();
    await w.abort();
    expect(existsSync(p2)).toBe(false);

    const p3 = join(scratch.dir, 'finished.simg');
    const w3 = await SparseImageWriter.create(p3, 4096, 1);
    await w3.finish();
    await expect(w3.writeFill(0, 1, 0)).rejects.toThrow(/after the writer was finished/);
    await expect(w3.finish()).rejects.toThrow();
    const src = await SparseImageSource.open(p3);
    expect(src.knownRuns()).toEqual([{ kind: 'dont-care', offsetBytes: 0, sizeBytes: 4096 }]);
    await src.close();
  });
});
