// writeFull: writes that take a few bytes at a time are looped until all bytes are written at the
// right positions, and a failing write becomes an IoError naming the action and path.

import { describe, expect, it } from 'vitest';
import { IoError } from '../../src/errors/ota-error.js';
import { writeFull, type PositionalWriter } from '../../src/image/write-full.js';

/** A file of `sizeBytes` whose writes take at most `stepBytes` bytes each. */
function trickle(sizeBytes: number, stepBytes: number, fail = false): PositionalWriter & { file: Buffer } {
  const file = Buffer.alloc(sizeBytes);
  return {
    file,
    async write(buffer, offset, length, position) {
      if (fail) throw Object.assign(new Error('boom'), { code: 'ENOSPC' });
      const n = Math.min(length, stepBytes);
      file.set(buffer.subarray(offset, offset + n), position);
      return { bytesWritten: n };
    },
  };
}

describe('writeFull', () => {
  it('loops over short writes until every byte is at its position', async () => {
    const w = trickle(64, 5);
    const data = Buffer.from(Array.from({ length: 40 }, (_, i) => i + 1));
    await writeFull(w, data, 10, { action: 'write output', path: 'o.img' });
    expect(w.file.subarray(10, 50)).toEqual(data);
    expect(w.file.subarray(0, 10)).toEqual(Buffer.alloc(10));
    expect(w.file.subarray(50)).toEqual(Buffer.alloc(14));
  });

  it('wraps a failing write in an IoError naming the action and path', async () => {
    const err = await writeFull(trickle(8, 5, true), Buffer.alloc(4), 0, {
      action: 'write output',
      path: 'o.img',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IoError);
    expect((err as IoError).message).toBe('cannot write output o.img: no space left on device (ENOSPC)');
  });
});
