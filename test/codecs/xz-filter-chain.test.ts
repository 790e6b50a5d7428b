// xz's two filter chains: [LZMA2] and [x86 BCJ, LZMA2] round-trip (ours and the xz CLI's), and a
// stream with any other chain (ARM, delta, x86 with a start offset) is refused, typed.

import { describe, expect, it } from 'vitest';
import { XzDecoder } from '../../src/codecs/xz-decoder.js';
import { XzEncoder } from '../../src/codecs/xz-encoder.js';
import { encodeChunk } from '../../src/pipeline/encode-chunk.js';
import { encodeOptions } from '../../src/pipeline/encode-options.js';
import { runToolOk } from './cli-tool.js';
import { expectBlobError } from './expect-blob-error.js';
import { contentClassOf } from '../../src/hashing/content-sketch.js';
import { elfChunk, prng, textLike } from './sample-data.js';

const MiB = 1024 * 1024;
const data = elfChunk(MiB);
const encoder = new XzEncoder();
const decoder = new XzDecoder();

describe('xz x86 BCJ chain', () => {
  it('round-trips, deterministically, within its declared memory, and `xz -d` reads it', async () => {
    const level = encoder.defaultLevel;
    const filtered = await encoder.encode(data, level, { x86Code: true });
    expect(filtered.equals(await encoder.encode(data, level, { x86Code: true }))).toBe(true);
    const plain = await encoder.encode(data, level);
    expect(filtered.equals(plain)).toBe(false);
    const memory = encoder.decoderMemoryBytesWith(level, data.length, { x86Code: true });
    expect(memory).toBeGreaterThan(encoder.decoderMemoryBytes(level, data.length));
    expect((await decoder.decode(filtered, data.length, memory)).equals(data)).toBe(true);
    expect(runToolOk('xz', ['-d', '-c'], filtered).equals(data)).toBe(true);
  });

  it('an `xz --x86 --lzma2` CLI stream decodes', async () => {
    const stream = runToolOk('xz', ['--x86', '--lzma2=preset=6', '-c'], data);
    expect((await decoder.decode(stream, data.length, 8 * MiB + 128 * 1024)).equals(data)).toBe(true);
  });

  it.each([
    ['ARM', ['--arm', '--lzma2=preset=1']],
    ['delta', ['--delta=dist=4', '--lzma2=preset=1']],
    ['x86 with a start offset', ['--x86=start=16', '--lzma2=preset=1']],
    ['two x86', ['--x86', '--x86', '--lzma2=preset=1']],
  ])('a stream with the %s filter is refused', async (_label, args) => {
    const stream = runToolOk('xz', [...args, '-c'], data);
    const error = await expectBlobError(decoder.decode(stream, data.length, 8 * MiB));
    expect(error.message).toMatch(/filter chain/);
  });

  it('a multi-block stream (xz -T2 --block-size) has every block checked', async () => {
    const text = textLike(MiB);
    const ok = runToolOk('xz', ['-T2', '--block-size=262144', '--lzma2=preset=1', '-c'], text);
    expect((await decoder.decode(ok, text.length, 2 * MiB)).equals(text)).toBe(true);
    const arm = runToolOk('xz', ['-T2', '--block-size=262144', '--arm', '--lzma2=preset=1', '-c'], text);
    await expectBlobError(decoder.decode(arm, text.length, 2 * MiB));
  });
});

describe('encodeOptions', () => {
  it('gives the content class only to large chunks (of full images and deltas), and marks the x86 ones', () => {
    const chunk = elfChunk(MiB);
    expect(
      encodeOptions({
        newData: chunk,
        sourceData: new Uint8Array(0),
        specs: [],
        replaceRequired: false,
        fullImage: true,
      }),
    ).toEqual({ x86Code: true, contentClass: 'x86', laneGapBits: expect.any(Number) });
    // A delta's chunk (with or without a source) is told the same.
    expect(
      encodeOptions({ newData: chunk, sourceData: chunk.subarray(0, 4096), specs: [], replaceRequired: false }),
    ).toEqual({ x86Code: true, contentClass: 'x86', laneGapBits: expect.any(Number) });
    const small = chunk.subarray(0, 64 * 1024);
    expect(
      encodeOptions({
        newData: small,
        sourceData: new Uint8Array(0),
        specs: [],
        replaceRequired: false,
        fullImage: true,
      }),
    ).toEqual({});
    expect(
      encodeOptions({
        newData: textLike(MiB),
        sourceData: new Uint8Array(0),
        specs: [],
        replaceRequired: false,
        fullImage: true,
      }),
    ).toEqual({ contentClass: 'text', laneGapBits: expect.any(Number) });
  });

  it('does not mark 4-byte structured code as x86 even when its E8 bytes count as x86 branches', () => {
    const words = Buffer.alloc(MiB);
    const next = prng(11);
    for (let at = 0; at < words.length; at += 8) {
      // [E8, r, r, opcode] [00, r, r, opcode]: an "E8 rel32" at every 8 bytes, AArch64-like lanes.
      words.set([0xe8, next() * 256, next() * 16, 0x94, 0x00, next() * 256, 0x40 | (next() * 8), 0xf9], at);
    }
    const task = { newData: words, sourceData: new Uint8Array(0), specs: [], replaceRequired: false, fullImage: true };
    expect(contentClassOf(words)).toBe('x86');
    expect(encodeOptions(task)).toEqual({ contentClass: 'x86', laneGapBits: expect.any(Number) });
    // x86 code after a little word-structured data (a weak 4-byte skew) keeps the filter.
    const table = Buffer.alloc(32 * 1024).map((_, i) => (i % 4 === 3 ? 0x94 : i % 4 === 0 ? 0x10 : (i * 7) & 0xff));
    const mixed = Buffer.concat([table, elfChunk(256 * 1024 + 4096)]);
    expect(encodeOptions({ ...task, newData: mixed })).toEqual({
      x86Code: true,
      contentClass: 'x86',
      laneGapBits: expect.any(Number),
    });
  });
});

describe("a delta package's large chunks", () => {
  it('get the content-fitted xz (x86 filter) as their REPLACE candidate: a rebuilt binary its old version barely helps', async () => {
    const task = {
      newData: data,
      sourceData: elfChunk(MiB / 2, 99),
      specs: [{ kind: 'replace', codec: 'xz', level: 9 } as const],
      replaceRequired: true,
    };
    const [xz] = await encodeChunk(task);
    const plain = await encoder.encode(data, 9);
    expect(xz!.bytes.equals(await encoder.encode(data, 9, encodeOptions(task)))).toBe(true);
    expect(xz!.bytes.length).toBeLessThan(plain.length);
    expect((await decoder.decode(xz!.bytes, data.length, xz!.decoderMemoryBytes)).equals(data)).toBe(true);
  });
});
