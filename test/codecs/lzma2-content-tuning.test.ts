// LZMA2 lc/lp/pb fitted to a full-image chunk's content (codecs/lzma2-content-tuning.ts): which
// tuning each kind of data gets, that the xz encoder writes it into the stream (the props byte of
// the first LZMA2 chunk), and that such streams round-trip through our decoder and `xz -d`.

import { describe, expect, it } from 'vitest';
import { byteLaneGapBits, lzma2TuningFor, XZ_DEFAULT_TUNING } from '../../src/codecs/lzma2-content-tuning.js';
import { XzDecoder } from '../../src/codecs/xz-decoder.js';
import { XzEncoder } from '../../src/codecs/xz-encoder.js';
import { runToolOk } from './cli-tool.js';
import { elfChunk, prng, randomBytes, textLike } from './sample-data.js';

const KiB = 1024;
const encoder = new XzEncoder();
const decoder = new XzDecoder();

/**
 * `sizeBytes` of 4-byte words shaped like AArch64 code: the top byte from a few opcode bytes, the
 * low bytes register fields and small immediates; 30 % of the words repeat a recent one.
 */
function alignedWords(sizeBytes: number, seed: number): Buffer {
  const next = prng(seed);
  const tops = [0x91, 0xf9, 0xaa, 0x94, 0x97, 0xb9, 0x52, 0xd6, 0x35, 0xa9];
  const out = Buffer.alloc(sizeBytes);
  for (let at = 0; at + 4 <= sizeBytes; at += 4) {
    if (at >= 4096 && next() < 0.3) {
      out.writeUInt32LE(out.readUInt32LE(at - 4 * (1 + Math.floor(next() * 512))), at);
      continue;
    }
    out[at] = Math.floor(next() * 32) | (Math.floor(next() * 4) << 5);
    out[at + 1] = Math.floor(next() * 16) << 4 || 0x03;
    out[at + 2] = Math.floor(next() * 8) | 0x40;
    out[at + 3] = tops[Math.floor(next() * tops.length)]!;
  }
  return out;
}

/** lc/lp/pb of the first LZMA2 chunk of a one-block .xz stream (its props byte: (pb*5+lp)*9+lc). */
function firstChunkTuning(stream: Buffer): { lc: number; lp: number; pb: number } {
  const blockAt = 12;
  const chunkAt = blockAt + (stream[blockAt]! + 1) * 4;
  expect(stream[chunkAt]! & 0xe0).toBe(0xe0); // dictionary reset + new props: a props byte follows
  const props = stream[chunkAt + 5]!;
  return { lc: props % 9, lp: Math.floor(props / 9) % 5, pb: Math.floor(props / 45) };
}

describe('lzma2TuningFor', () => {
  it('measures 4-byte structure: high for aligned words, low for x86 code, text and random bytes', () => {
    expect(byteLaneGapBits(alignedWords(256 * KiB, 1))).toBeGreaterThan(0.3);
    expect(byteLaneGapBits(elfChunk(256 * KiB))).toBeLessThan(0.1);
    expect(byteLaneGapBits(textLike(256 * KiB, 2))).toBeLessThan(0.1);
    expect(byteLaneGapBits(randomBytes(256 * KiB, 3))).toBeLessThan(0.01);
    expect(byteLaneGapBits(new Uint8Array(4096))).toBe(0);
  });

  it('picks lp=2/pb=2 for aligned data, pb=0 for x86 code and text (with a longer nice length), the defaults for the rest', () => {
    expect(lzma2TuningFor('binary', byteLaneGapBits(alignedWords(256 * KiB, 1)))).toEqual({ lc: 0, lp: 2, pb: 2 });
    expect(lzma2TuningFor('x86', byteLaneGapBits(elfChunk(256 * KiB)))).toEqual({ lc: 4, lp: 0, pb: 0 });
    expect(lzma2TuningFor('text', byteLaneGapBits(textLike(256 * KiB, 2)))).toEqual({
      lc: 3,
      lp: 0,
      pb: 0,
      niceLen: 128,
    });
    expect(lzma2TuningFor('binary', byteLaneGapBits(randomBytes(256 * KiB, 3)))).toEqual(XZ_DEFAULT_TUNING);
  });

  it('gives weakly aligned data lp=2/pb=2 with lc=0 when it is x86 code, lc=1 otherwise', () => {
    // 32 KiB of words with fixed top and low bytes before x86 code: a skew between 0.1 and 0.3 bits.
    const words = Buffer.alloc(32 * KiB).map((_, i) => (i % 4 === 3 ? 0x94 : i % 4 === 0 ? 0x10 : (i * 7) & 0xff));
    const data = Buffer.concat([words, elfChunk(256 * KiB)]);
    expect(byteLaneGapBits(data)).toBeGreaterThan(0.1);
    expect(byteLaneGapBits(data)).toBeLessThan(0.3);
    expect(lzma2TuningFor('x86', byteLaneGapBits(data))).toEqual({ lc: 0, lp: 2, pb: 2 });
    expect(lzma2TuningFor('binary', byteLaneGapBits(data))).toEqual({ lc: 1, lp: 2, pb: 2 });
  });
});

describe('xz with a content tuning', () => {
  it('writes the chosen lc/lp/pb, compresses aligned data smaller, and round-trips (ours and `xz -d`)', async () => {
    const data = alignedWords(512 * KiB, 4);
    const level = encoder.defaultLevel;
    const tuned = await encoder.encode(data, level, { contentClass: 'binary' });
    const plain = await encoder.encode(data, level);
    expect(firstChunkTuning(tuned)).toEqual({ lc: 0, lp: 2, pb: 2 });
    expect(firstChunkTuning(plain)).toEqual(XZ_DEFAULT_TUNING);
    expect(tuned.length).toBeLessThan(plain.length);
    expect(tuned.equals(await encoder.encode(data, level, { contentClass: 'binary' }))).toBe(true);
    const memory = encoder.decoderMemoryBytesWith(level, data.length, { contentClass: 'binary' });
    expect(memory).toBe(encoder.decoderMemoryBytes(level, data.length));
    expect((await decoder.decode(tuned, data.length, memory)).equals(data)).toBe(true);
    expect(runToolOk('xz', ['-d', '-c'], tuned).equals(data)).toBe(true);
  });

  it('an x86 chunk gets the BCJ filter and lc=4/pb=0, and round-trips', async () => {
    const data = elfChunk(512 * KiB);
    const options = { x86Code: true, contentClass: 'x86' } as const;
    const stream = await encoder.encode(data, 9, options);
    expect(firstChunkTuning(stream)).toEqual({ lc: 4, lp: 0, pb: 0 });
    const memory = encoder.decoderMemoryBytesWith(9, data.length, options);
    expect((await decoder.decode(stream, data.length, memory)).equals(data)).toBe(true);
  });
});
