// SparseImageSource against images made by the real img2simg: synthetic raw images (random, zero
// and repeated-pattern runs, sizes off the MiB grid, a trailing partial block, two block sizes)
// and an ext4 file system built by mke2fs from real files. Every byte, random ranges, knownRuns.

import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceRun } from '../../src/image/block-source.js';
import { SparseImageSource } from '../../src/image/sparse-image-source.js';
import { seededRng, suiteSeed } from '../helpers/seeded-random.js';
import { isPeriodicBlock, runToolOk, scratchDir } from './sparse-test-kit.js';

const SEED = suiteSeed(0x5a11);
let scratch: ReturnType<typeof scratchDir>;
beforeAll(() => {
  scratch = scratchDir();
});
afterAll(() => scratch.cleanup());

/** A raw image of `sizeBytes` made of random, zero, pattern (any phase) and text runs. */
function makeRaw(seed: number, sizeBytes: number): Buffer {
  const rng = seededRng(seed);
  const img = Buffer.alloc(sizeBytes);
  for (let at = 0; at < sizeBytes;) {
    const len = Math.min(sizeBytes - at, rng.int(1, 40_000));
    const kind = rng.int(0, 3);
    if (kind === 0) rng.bytes(len).copy(img, at);
    else if (kind === 2) img.fill(rng.bytes(4), at, at + len);
    else if (kind === 3) img.fill(`block ${at} `, at, at + len);
    at += len;
  }
  return img;
}

/** What img2simg (normal read mode) turns into FILL: full periodic blocks, merged by value. */
function expectedFillRuns(raw: Buffer, bs: number): SourceRun[] {
  const runs: { kind: 'fill'; offsetBytes: number; sizeBytes: number; fillValue: number }[] = [];
  for (let at = 0; at + bs <= raw.length; at += bs) {
    const block = raw.subarray(at, at + bs);
    if (!isPeriodicBlock(block)) continue;
    const value = block.readUInt32LE(0);
    const last = runs[runs.length - 1];
    if (last && last.offsetBytes + last.sizeBytes === at && last.fillValue === value) last.sizeBytes += bs;
    else runs.push({ kind: 'fill', offsetBytes: at, sizeBytes: bs, fillValue: value });
  }
  return runs;
}

/** Reads the whole source in `pieceBytes` pieces. */
async function readAll(src: SparseImageSource, pieceBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let at = 0; at < src.sizeBytes; at += pieceBytes)
    parts.push(await src.read(at, Math.min(pieceBytes, src.sizeBytes - at)));
  return Buffer.concat(parts);
}

/** Every byte in pieces, 300 random ranges (some past the end) compared with `expanded`. */
async function expectSameBytes(src: SparseImageSource, expanded: Buffer, seed: number): Promise<void> {
  expect(src.sizeBytes).toBe(expanded.length);
  expect((await readAll(src, 65_536)).equals(expanded)).toBe(true);
  expect((await readAll(src, 12_345)).equals(expanded)).toBe(true);
  const rng = seededRng(seed);
  for (let i = 0; i < 300; i++) {
    const offset = rng.int(0, expanded.length + 100);
    const length = rng.int(0, i % 10 === 0 ? 300_000 : 9000);
    const want = Buffer.alloc(length);
    expanded.copy(want, 0, Math.min(offset, expanded.length), Math.min(offset + length, expanded.length));
    const got = await src.read(offset, length);
    expect(got.equals(want), `seed ${seed}: read(${offset}, ${length})`).toBe(true);
  }
}

const CASES = [
  { name: 'block-multiple 4 KiB image', sizeBytes: 3 * 1024 * 1024 + 5 * 4096, blockSizeBytes: 4096 },
  { name: 'image with a trailing partial block', sizeBytes: 1024 * 1024 + 12_345, blockSizeBytes: 4096 },
  { name: '1 KiB blocks, trailing partial block', sizeBytes: 700 * 1024 + 3000, blockSizeBytes: 1024 },
];

describe('SparseImageSource reads img2simg output', () => {
  for (const [n, c] of CASES.entries()) {
    it(c.name, async () => {
      const raw = makeRaw(SEED + n, c.sizeBytes);
      const rawPath = join(scratch.dir, `raw-${n}.img`);
      const simgPath = join(scratch.dir, `raw-${n}.simg`);
      writeFileSync(rawPath, raw);
      runToolOk('img2simg', [rawPath, simgPath, String(c.blockSizeBytes)]);
      // img2simg pads the last partial block with zeros: the expanded image is block-aligned.
      const expanded = Buffer.alloc(Math.ceil(c.sizeBytes / c.blockSizeBytes) * c.blockSizeBytes);
      raw.copy(expanded);
      const src = await SparseImageSource.open(simgPath);
      try {
        expect(src.format).toBe('sparse');
        expect(src.blockSizeBytes).toBe(c.blockSizeBytes);
        await expectSameBytes(src, expanded, SEED + n);
        const runs = src.knownRuns();
        expect(runs.length).toBeGreaterThan(3);
        expect(runs).toEqual(expectedFillRuns(raw, c.blockSizeBytes));
        expect(runs.some((r) => r.kind === 'fill' && r.fillValue === 0)).toBe(true);
        expect(runs.some((r) => r.kind === 'fill' && r.fillValue !== 0)).toBe(true);
      } finally {
        await src.close();
        await src.close();
      }
      const simg2imgOut = join(scratch.dir, `raw-${n}.out`);
      runToolOk('simg2img', [simgPath, simg2imgOut]);
      expect(readFileSync(simg2imgOut).equals(expanded)).toBe(true);
    });
  }

  it('fromHandle takes over an open handle after sniffing', async () => {
    const rawPath = join(scratch.dir, 'handle.img');
    const simgPath = join(scratch.dir, 'handle.simg');
    const raw = makeRaw(SEED + 99, 300 * 1024);
    writeFileSync(rawPath, raw);
    runToolOk('img2simg', [rawPath, simgPath]);
    const fh = await open(simgPath, 'r');
    const src = await SparseImageSource.fromHandle(simgPath, fh, (await fh.stat()).size);
    expect((await readAll(src, 100_000)).equals(raw)).toBe(true);
    await src.close();
  });
});

describe('SparseImageSource reads an ext4 image', () => {
  it('mke2fs -d from real files → img2simg → every byte matches, and the expansion passes e2fsck', async () => {
    const tree = join(scratch.dir, 'tree');
    mkdirSync(tree);
    let copied = 0;
    for (const name of readdirSync('/usr/share/doc').sort()) {
      if (copied >= 6 * 1024 * 1024) break;
      const dir = join('/usr/share/doc', name);
      for (const file of readdirSync(dir).sort()) {
        const from = join(dir, file);
        const st = statSync(from, { throwIfNoEntry: false });
        if (!st?.isFile() || st.size > 512 * 1024) continue;
        mkdirSync(join(tree, name), { recursive: true });
        copyFileSync(from, join(tree, name, file));
        copied += st.size;
      }
    }
    expect(copied).toBeGreaterThan(100_000);
    const img = join(scratch.dir, 'fs.img');
    const simg = join(scratch.dir, 'fs.simg');
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-d', tree, img, '24M']);
    runToolOk('img2simg', [img, simg]);
    const raw = readFileSync(img);
    const src = await SparseImageSource.open(simg);
    try {
      await expectSameBytes(src, raw, SEED + 7);
      expect(src.knownRuns()).toEqual(expectedFillRuns(raw, 4096));
      const expandedPath = join(scratch.dir, 'fs.expanded');
      writeFileSync(expandedPath, await readAll(src, 1024 * 1024));
      runToolOk('e2fsck', ['-fn', expandedPath]);
    } finally {
      await src.close();
    }
    expect(statSync(simg).size).toBeLessThan(raw.length);
  });
});
