// xz's [ARM64 BCJ, LZMA2] chain (xz-encoder.ts, xz-arm64-decode.ts): our streams decode with
// `xz -d`, `xz --arm64` streams decode with ours, and broken or hostile streams (other ARM64
// properties, several blocks, bad CRCs or check, truncation, a huge dictionary) are refused, typed.

import { describe, expect, it } from 'vitest';
import { XzDecoder } from '../../src/codecs/xz-decoder.js';
import { XzEncoder } from '../../src/codecs/xz-encoder.js';
import { writeXzStream } from '../../src/codecs/xz-container.js';
import { crc32 } from '../../src/hashing/crc32.js';
import { crc64Bytes } from '../../src/codecs/xz-checksums.js';

/** The byte at `at` (-1 past the end). */
const b4 = (b: Buffer, at: number): number => b[at] ?? -1;
import { encodeOptions } from '../../src/pipeline/encode-options.js';
import { MINOR_XZ_ARM64 } from '../../src/format/package-header.js';
import { resolveTargets } from '../../src/targets/target-registry.js';
import { runToolOk } from './cli-tool.js';
import { expectBlobError } from './expect-blob-error.js';
import { aarch64Like } from './sample-data.js';

const KiB = 1024;
const data = aarch64Like(256 * KiB + 3);
const encoder = new XzEncoder();
const decoder = new XzDecoder();
const options = { arm64Code: true, contentClass: 'binary', laneGapBits: 0.8 } as const;
const memory = encoder.decoderMemoryBytesWith(9, data.length, options);
const ours = await encoder.encode(data, 9, options);

describe('xz ARM64 chain', () => {
  it('round-trips deterministically, beats the plain chain, and `xz -d` reads it', async () => {
    expect(ours.equals(await encoder.encode(data, 9, options))).toBe(true);
    const { arm64Code: _, ...plainOptions } = options;
    expect(ours.length).toBeLessThan((await encoder.encode(data, 9, plainOptions)).length);
    expect(memory).toBeGreaterThan(encoder.decoderMemoryBytes(9, data.length));
    expect((await decoder.decode(ours, data.length, memory)).equals(data)).toBe(true);
    const into = Buffer.alloc(data.length);
    expect(await decoder.decode(ours, data.length, memory, into)).toBe(into);
    expect(into.equals(data)).toBe(true);
    expect(runToolOk('xz', ['-d', '-c'], ours).equals(data)).toBe(true);
    // Block header: size, flags (2 filters), ARM64 (0x0a) without properties, LZMA2 (0x21).
    expect([...ours.subarray(12, 17)]).toEqual([2, 1, 0x0a, 0x00, 0x21]);
  });

  it.each([
    ['CRC64', 'crc64'],
    ['CRC32', 'crc32'],
    ['SHA-256', 'sha256'],
  ])('an `xz --arm64 --lzma2` single-block stream with a %s check decodes', async (_label, check) => {
    const stream = runToolOk(
      'xz',
      ['--arm64', '--lzma2=preset=6,dict=512KiB,lc=0,lp=2,pb=2', `--check=${check}`, '-c'],
      data,
    );
    expect((await decoder.decode(stream, data.length, 512 * KiB + 128 * KiB)).equals(data)).toBe(true);
  });

  it.each([
    ['ARM64 with a start offset', ['--arm64=start=4096', '--lzma2=preset=1']],
    ['several blocks', ['-T2', '--block-size=65536', '--arm64', '--lzma2=preset=1']],
  ])('a stream with %s is refused', async (_label, args) => {
    const stream = runToolOk('xz', [...args, '-c'], data);
    await expectBlobError(decoder.decode(stream, data.length, 4 * 1024 * KiB));
  });

  it('refuses a wrong check, bad CRC32s, corrupt data, a wrong size and too little memory', async () => {
    const mutate = (at: number): Buffer => {
      const copy = Buffer.from(ours);
      copy[at] = (copy[at] ?? 0) ^ 0x01;
      return copy;
    };
    const checkAt = ours.length - 12 - 12 - 8; // check, index (12 bytes for one record), footer
    expect((await expectBlobError(decoder.decode(mutate(checkAt), data.length, memory))).message).toMatch(/check/);
    expect((await expectBlobError(decoder.decode(mutate(13), data.length, memory))).message).toMatch(/CRC32/);
    expect((await expectBlobError(decoder.decode(mutate(8), data.length, memory))).message).toMatch(/CRC32/);
    expect((await expectBlobError(decoder.decode(mutate(ours.length - 12 - 3), data.length, memory))).message).toMatch(
      /CRC32|index/,
    );
    expect((await expectBlobError(decoder.decode(mutate(ours.length - 12), data.length, memory))).message).toMatch(
      /CRC32/,
    );
    for (const at of [40, 1000, Math.floor(ours.length / 2)])
      await expectBlobError(decoder.decode(mutate(at), data.length, memory));
    await expectBlobError(decoder.decode(ours, data.length + 1, memory));
    await expectBlobError(decoder.decode(ours, data.length - 1, memory));
    await expectBlobError(decoder.decode(ours, data.length, 64 * KiB));
  });

  it("refuses what liblzma refuses in the container: stated sizes not the index's, non-zero header or index padding, footer flags not the header's", async () => {
    // Edits a stream and fixes the CRC32 over [from, to) (stored at crcAt), so only the rule stands.
    const withCrc = (stream: Buffer, from: number, to: number, edit: (b: Buffer) => void, crcAt = to): Buffer => {
      const copy = Buffer.from(stream);
      edit(copy);
      copy.writeUInt32LE(crc32(copy.subarray(from, to)), crcAt);
      return copy;
    };
    const headerBytes = ((ours[12] ?? 0) + 1) * 4;
    const headerPadded = withCrc(ours, 12, 12 + headerBytes - 4, (b) => (b[12 + headerBytes - 5] = 0x55));
    expect((await expectBlobError(decoder.decode(headerPadded, data.length, memory))).message).toMatch(/padding/);
    // Zeros code to a few bytes: the one-record index (6 bytes) then ends in 2 bytes of padding.
    const zeros = await encoder.encode(Buffer.alloc(data.length), 9, options);
    const footer = zeros.length - 12;
    const indexAt = footer - (zeros.readUInt32LE(footer + 4) + 1) * 4;
    expect(b4(zeros, footer - 5)).toBe(0);
    expect((await decoder.decode(zeros, data.length, memory)).equals(Buffer.alloc(data.length))).toBe(true);
    const indexPadded = withCrc(zeros, indexAt, footer - 4, (b) => (b[footer - 5] = 0x55));
    expect((await expectBlobError(decoder.decode(indexPadded, data.length, memory))).message).toMatch(/padding/);
    const flags = withCrc(zeros, footer + 4, footer + 10, (b) => (b[footer + 9] = 0x0a), footer);
    expect((await expectBlobError(decoder.decode(flags, data.length, memory))).message).toMatch(/flags/);
    // xz -T2 states both sizes in the block header: valid as made, refused with a size that lies.
    const stated = runToolOk('xz', ['-T2', '--block-size=1MiB', '--arm64', '--lzma2=preset=1', '-c'], data);
    expect((stated[13] ?? 0) & 0xc0).toBe(0xc0);
    expect((await decoder.decode(stated, data.length, 4 * 1024 * KiB)).equals(data)).toBe(true);
    const statedHeaderBytes = ((stated[12] ?? 0) + 1) * 4;
    const lying = withCrc(
      stated,
      12,
      12 + statedHeaderBytes - 4,
      (b) => (b[14] = ((b[14] ?? 0) & 0x80) | (((b[14] ?? 0) + 1) & 0x7f)),
    );
    expect((await expectBlobError(decoder.decode(lying, data.length, 4 * 1024 * KiB))).message).toMatch(/states/);
  });

  it('refuses every truncation', async () => {
    for (let keep = 0; keep < ours.length; keep += Math.max(1, Math.floor(ours.length / 97)))
      await expectBlobError(decoder.decode(ours.subarray(0, keep), data.length, memory));
    await expectBlobError(decoder.decode(ours.subarray(0, ours.length - 1), data.length, memory));
  });

  it('refuses a well-formed stream asking for a 4 GiB dictionary without allocating it', async () => {
    const hostile = writeXzStream({
      checkId: 4,
      filters: [
        { id: 0x0a, properties: new Uint8Array(0) },
        { id: 0x21, properties: Uint8Array.of(40) },
      ],
      compressed: Uint8Array.of(0x01, 0x00, 0x00, 0x00, 0x00),
      uncompressedBytes: 1,
      check: crc64Bytes(Uint8Array.of(0)),
    });
    const before = process.memoryUsage().rss;
    await expectBlobError(decoder.decode(hostile, 1, memory));
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * KiB);
  });
});

describe('encodeOptions', () => {
  it('marks AArch64 code (over 256 KiB, of a full image or a delta) for the ARM64 filter where every target reads it', async () => {
    const task = { newData: aarch64Like(512 * KiB), sourceData: new Uint8Array(0), specs: [], replaceRequired: false };
    expect(encodeOptions({ ...task, fullImage: true })).toMatchObject({ arm64Code: true });
    expect(encodeOptions({ ...task, sourceData: aarch64Like(64 * KiB) })).toMatchObject({ arm64Code: true });
    const [generic] = await resolveTargets('generic');
    const older = { ...generic!, maxFormatMinor: MINOR_XZ_ARM64 - 1 };
    expect(encodeOptions({ ...task, targets: [generic!, older] })).not.toHaveProperty('arm64Code');
    expect(encodeOptions({ ...task, newData: task.newData.subarray(0, 256 * KiB) })).toEqual({});
  });
});
