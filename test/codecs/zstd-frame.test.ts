// The zstd frame header parser against zstd's own reading, and the frame checks that run
// before any output buffer exists.

import binding from 'zstd-napi/binding.js';
import { describe, expect, it } from 'vitest';
import { parseZstdFrameHeader } from '../../src/codecs/zstd-frame-header.js';
import { decodeZstdFrame, encodeZstdFrame, zstdDictionaryView } from '../../src/codecs/zstd-frame.js';
import { zstdWindowLog } from '../../src/codecs/zstd-descriptor.js';
import { codecByName } from './codec-pairs.js';
import { expectBlobError } from './expect-blob-error.js';
import { randomBytes, textLike } from './sample-data.js';

describe('parseZstdFrameHeader', () => {
  it.each([0, 1, 255, 256, 65_791, 65_792, 1 << 20, 5_000_000])(
    'reads the content size zstd reads (%i bytes)',
    (sizeBytes) => {
      const frame = encodeZstdFrame(Buffer.alloc(sizeBytes, 7), { level: 1, windowLog: zstdWindowLog(sizeBytes) });
      const header = parseZstdFrameHeader('zstd', frame);
      expect(header.contentSizeBytes).toBe(binding.getFrameContentSize(frame));
      expect(header.hasChecksum).toBe(true);
      expect(header.dictionaryId).toBe(0);
      expect(header.singleSegment).toBe(true);
      expect(header.windowSizeBytes).toBe(sizeBytes);
    },
  );

  it('reads the window descriptor of a multi-segment frame', () => {
    // Window 2^10 smaller than the 64 KiB content forces a window descriptor.
    const frame = encodeZstdFrame(textLike(64 * 1024), { level: 3, windowLog: 10 });
    const header = parseZstdFrameHeader('zstd', frame);
    expect(header.singleSegment).toBe(false);
    expect(header.windowSizeBytes).toBe(1024);
    expect(header.contentSizeBytes).toBe(64 * 1024);
  });

  it('refuses a wrong magic, a skippable frame, a reserved bit and a short header', async () => {
    const frame = encodeZstdFrame(textLike(1000), { level: 3, windowLog: 10 });
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]);
    const reserved = Buffer.from(frame);
    reserved[4] = (reserved[4] ?? 0) | 0x08;
    for (const bad of [Buffer.from('PK\x03\x04hello'), skippable, reserved, frame.subarray(0, 5)]) {
      await expectBlobError(Promise.resolve().then(() => parseZstdFrameHeader('zstd', bad)));
    }
  });
});

describe('decodeZstdFrame checks', () => {
  const codec = codecByName('zstd');

  it('rejects a frame declaring more than expected before allocating (64 MiB declared, 1 MiB expected)', async () => {
    const frame = await codec.encode(Buffer.alloc(64 << 20), 1);
    const error = await expectBlobError(codec.decode(frame, 1 << 20));
    expect(error.message).toMatch(/declares 67108864 bytes, expected 1048576/);
  });

  it('rejects a frame that needs a dictionary it was not given, and the wrong dictionary', async () => {
    const source = randomBytes(8192, 11);
    const target = Buffer.concat([source.subarray(0, 4096), textLike(100)]);
    const frame = encodeZstdFrame(target, { level: 3, windowLog: 14, dictionary: source });
    await expectBlobError(Promise.resolve().then(() => decodeZstdFrame('zstd', frame, target.length)));
    await expectBlobError(
      Promise.resolve().then(() => decodeZstdFrame('zstd', frame, target.length, randomBytes(8192, 12))),
    );
    expect(decodeZstdFrame('zstd', frame, target.length, source).equals(target)).toBe(true);
  });

  it('loads a source that starts with the dictionary magic as raw content', () => {
    const source = Buffer.concat([Buffer.from([0x37, 0xa4, 0x30, 0xec]), randomBytes(8192, 13)]);
    expect(zstdDictionaryView(source).length).toBe(source.length - 1);
    const target = Buffer.concat([source.subarray(100, 5000), textLike(300)]);
    const frame = encodeZstdFrame(target, { level: 19, windowLog: 15, dictionary: source });
    expect(frame.length).toBeLessThan(1000);
    expect(decodeZstdFrame('zstd-dict', frame, target.length, source).equals(target)).toBe(true);
  });

  it('a frame made with the source minus its first byte decodes with the whole source as raw content', () => {
    // Why the magic rule is safe: offsets count back from the dictionary end, so a decoder given
    // the whole source (as `zstd --patch-from` gives it) reads the frame the same way.
    const source = randomBytes(16 * 1024, 14);
    const target = Buffer.concat([source.subarray(0, 6000), textLike(200), source.subarray(9000)]);
    const frame = encodeZstdFrame(target, { level: 19, windowLog: 16, dictionary: source.subarray(1) });
    expect(frame.length).toBeLessThan(1000);
    expect(decodeZstdFrame('zstd-dict', frame, target.length, source).equals(target)).toBe(true);
  });
});
