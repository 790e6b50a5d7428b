// readFull / readUpTo: reads that return a few bytes at a time are looped until the buffer is full,
// end of file becomes the caller's error (readFull) or a short count (readUpTo), and a failing
// read becomes an IoError naming the action and path.

import { describe, expect, it } from 'vitest';
import { ImageError, IoError } from '../../src/errors/ota-error.js';
import type { PositionalReader } from '../../src/image/file-range.js';
import { readFull, readUpTo } from '../../src/image/read-full.js';

/** A file of `data` whose reads return at most `stepBytes` bytes each. */
function trickle(data: Buffer, stepBytes: number, fail = false): PositionalReader & { calls: number } {
  const reader = {
    calls: 0,
    async read(buffer: Buffer, offset: number, length: number, position: number) {
      reader.calls++;
      if (fail) throw Object.assign(new Error('boom'), { code: 'EIO' });
      const n = Math.max(0, Math.min(length, stepBytes, data.length - position));
      data.copy(buffer, offset, position, position + n);
      return { bytesRead: n };
    },
    async close() {},
  };
  return reader;
}

const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
const purpose = {
  action: 'read test file',
  path: 'f.img',
  onShort: (at: number) => new ImageError('IMAGE_TRUNCATED', `f.img ended at ${at}`),
};

describe('readFull', () => {
  it('loops over short reads until the buffer is full', async () => {
    const reader = trickle(data, 7);
    const into = Buffer.alloc(50);
    await readFull(reader, into, 10, purpose);
    expect(into).toEqual(data.subarray(10, 60));
    expect(reader.calls).toBe(Math.ceil(50 / 7));
  });

  it("throws the caller's error with the position where the file ended", async () => {
    await expect(readFull(trickle(data, 7), Buffer.alloc(30), 80, purpose)).rejects.toThrow(
      new ImageError('IMAGE_TRUNCATED', 'f.img ended at 100'),
    );
  });

  it('wraps a failing read in an IoError naming the action and path', async () => {
    const err = await readFull(trickle(data, 7, true), Buffer.alloc(4), 0, purpose).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IoError);
    expect((err as IoError).message).toBe('cannot read test file f.img: low-level I/O error (EIO)');
  });
});

describe('readUpTo', () => {
  it('returns the bytes read, fewer only at end of file', async () => {
    const into = Buffer.alloc(30);
    expect(await readUpTo(trickle(data, 3), into, 0, purpose)).toBe(30);
    expect(into).toEqual(data.subarray(0, 30));
    expect(await readUpTo(trickle(data, 3), into, 85, purpose)).toBe(15);
    expect(into.subarray(0, 15)).toEqual(data.subarray(85));
  });
});
