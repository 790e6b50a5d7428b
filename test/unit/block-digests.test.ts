// hashBlocks (src/hashing/block-digests.ts) over images of several reads, with known fill and
// DONT_CARE runs between them: every block's digest and flags, the image sha256 and the anchors
// are those of each block hashed on its own, whatever the reads (one is made ahead of the next).

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HASH_READ_BYTES, hashBlocks } from '../../src/hashing/block-digests.js';
import { AnchorSampler } from '../../src/hashing/anchor-sampler.js';
import type { BlockSource, SourceRun } from '../../src/image/block-source.js';
import { MemoryBlockSource } from '../../src/image/memory-block-source.js';
import { hashImageFile } from '../../src/pipeline/hash-image-file.js';
import { seededRng } from '../helpers/seeded-random.js';

const BLOCK = 4096;

/** An in-memory image whose `runs` are known (as a sparse image's are): reading one is an error. */
class RunSource extends MemoryBlockSource implements BlockSource {
  readonly reads: [number, number][] = [];

  constructor(
    private readonly bytes: Uint8Array,
    private readonly runs: SourceRun[],
  ) {
    super(bytes);
  }

  override async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    for (const r of this.runs)
      if (offsetBytes < r.offsetBytes + r.sizeBytes && r.offsetBytes < offsetBytes + lengthBytes)
        throw new Error(`read [${offsetBytes}, +${lengthBytes}) overlaps a known run at ${r.offsetBytes}`);
    this.reads.push([offsetBytes, lengthBytes]);
    return super.read(offsetBytes, lengthBytes);
  }

  override knownRuns(): readonly SourceRun[] {
    return this.runs;
  }

  /** The image as hashBlocks must see it: DONT_CARE as zeros, fills as their 32-bit value. */
  expanded(): Buffer {
    const out = Buffer.from(this.bytes);
    for (const r of this.runs)
      for (let at = r.offsetBytes; at < r.offsetBytes + r.sizeBytes; at += 4)
        out.writeUInt32LE(r.kind === 'fill' ? r.fillValue : 0, at);
    return out;
  }
}

describe('hashBlocks', () => {
  it('gives each block its own digest across reads, known runs and a short last block', async () => {
    const readBlocks = HASH_READ_BYTES / BLOCK;
    const blockCount = 3 * readBlocks + 40;
    const data = seededRng(5).bytes(blockCount * BLOCK - 100); // the last block is short
    data.fill(0, 7 * BLOCK, 9 * BLOCK); // zero blocks inside a read
    const runs: SourceRun[] = [
      // straddles the end of the first read, then a fill of zeros and a DONT_CARE run back to back
      { kind: 'fill', offsetBytes: (readBlocks - 3) * BLOCK, sizeBytes: 6 * BLOCK, fillValue: 0x01020304 },
      { kind: 'fill', offsetBytes: (readBlocks + 3) * BLOCK, sizeBytes: 2 * BLOCK, fillValue: 0 },
      { kind: 'dont-care', offsetBytes: (readBlocks + 5) * BLOCK, sizeBytes: readBlocks * BLOCK },
      { kind: 'fill', offsetBytes: (3 * readBlocks + 1) * BLOCK, sizeBytes: BLOCK, fillValue: 0xffffffff },
    ];
    const source = new RunSource(data, runs);
    const d = await hashBlocks(source, BLOCK, { withAnchors: true });

    const image = source.expanded();
    expect(d.blockCount).toBe(blockCount);
    expect(d.imageSha256).toEqual(createHash('sha256').update(image).digest());
    const sampler = new AnchorSampler();
    let dontCareCount = 0;
    for (let i = 0; i < blockCount; i++) {
      const block = Buffer.alloc(BLOCK);
      image.copy(block, 0, i * BLOCK, (i + 1) * BLOCK);
      const dontCare = runs.some(
        (r) => r.kind === 'dont-care' && r.offsetBytes <= i * BLOCK && i * BLOCK < r.offsetBytes + r.sizeBytes,
      );
      const inRun = runs.some((r) => r.offsetBytes <= i * BLOCK && i * BLOCK < r.offsetBytes + r.sizeBytes);
      const zero = !dontCare && block.every((b) => b === 0);
      expect(d.digests.subarray(i * 32, i * 32 + 32), `block ${i}`).toEqual(
        createHash('sha256').update(block).digest(),
      );
      expect([d.zero[i], d.dontCare[i]], `block ${i}`).toEqual([zero ? 1 : 0, dontCare ? 1 : 0]);
      dontCareCount += dontCare ? 1 : 0;
      sampler.feed(i * BLOCK, inRun ? block.subarray(0, 0) : block, inRun || zero);
    }
    expect(d.dontCareCount).toBe(dontCareCount);
    const anchors = sampler.finish();
    expect(anchors.count).toBeGreaterThan(100);
    expect(d.anchors).toEqual(anchors);
    // Runs are never read, and every other byte is read once, in order.
    const readBytes = source.reads.reduce((sum, [, n]) => sum + n, 0);
    const runBytes = runs.reduce((sum, r) => sum + r.sizeBytes, 0);
    expect(readBytes).toBe(blockCount * BLOCK - runBytes);
    expect(source.reads.map(([at]) => at)).toEqual([...source.reads.map(([at]) => at)].sort((a, b) => a - b));
  });

  it('passes on a read that fails, and leaves no read unhandled behind it', async () => {
    const data = seededRng(6).bytes(4 * HASH_READ_BYTES);
    const source = new MemoryBlockSource(data);
    let reads = 0;
    source.read = async () => {
      // The second read fails, and so does the one started ahead of it, which no one awaits:
      // an unhandled rejection would fail this test run.
      if (++reads >= 2) throw new Error(`disk gone (read ${reads})`);
      return Buffer.alloc(HASH_READ_BYTES);
    };
    await expect(hashBlocks(source, BLOCK)).rejects.toThrow('disk gone (read 2)');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(reads).toBe(3);
  });

  it('hashes a file image (read into two buffers in turn while it hashes) as it hashes the same bytes in memory', async () => {
    const data = seededRng(7).bytes(2 * HASH_READ_BYTES + 5 * BLOCK);
    const dir = mkdtempSync(join(tmpdir(), 'ota-digests-'));
    try {
      writeFileSync(join(dir, 'img'), data);
      const fromFile = await hashImageFile({ path: join(dir, 'img'), blockSizeBytes: BLOCK, withAnchors: true });
      const inMemory = await hashBlocks(new MemoryBlockSource(data), BLOCK, { withAnchors: true });
      expect(fromFile.digests).toEqual(inMemory.digests);
      expect(fromFile.imageSha256).toEqual(createHash('sha256').update(data).digest());
      expect(fromFile.anchors).toEqual(inMemory.anchors);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
