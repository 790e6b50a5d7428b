// ReadAhead (src/image/read-ahead.ts): ranges come back in order with their own bytes, each
// buffer intact until the next call however the reads interleave, and errors reach the caller.

import { describe, expect, it } from 'vitest';
import type { BlockSource } from '../../src/image/block-source.js';
import { ReadAhead, type ByteRange } from '../../src/image/read-ahead.js';
import { MemoryBlockSource } from '../../src/image/memory-block-source.js';
import { seededRng } from '../helpers/seeded-random.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A source whose reads land into the caller's buffer after a random delay (as the libuv pool's do). */
function slowSource(data: Uint8Array, seed: number): BlockSource & { reads: number } {
  const rng = seededRng(seed);
  const memory = new MemoryBlockSource(data);
  const source = {
    path: 'slow',
    format: 'memory',
    sizeBytes: data.length,
    reads: 0,
    read: (at: number, n: number) => memory.read(at, n),
    async readInto(at: number, into: Buffer) {
      source.reads++;
      await sleep(rng.int(0, 3));
      into.set(await memory.read(at, into.length));
    },
    knownRuns: () => [],
    close: async () => undefined,
  };
  return source;
}

function rangesOf(sizeBytes: number, pieceBytes: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (let at = 0; at < sizeBytes; at += pieceBytes)
    out.push({ offsetBytes: at, sizeBytes: Math.min(pieceBytes, sizeBytes - at) });
  return out;
}

describe('ReadAhead', () => {
  it('gives each range its bytes, intact until the next call, with one read ahead', async () => {
    const data = seededRng(1).bytes(50_000);
    for (const seed of [1, 2, 3]) {
      const source = slowSource(data, seed);
      const ranges = rangesOf(data.length, 4096 + seed * 1000);
      const reads = new ReadAhead(source, ranges);
      for (const [k, r] of ranges.entries()) {
        const got = await reads.next();
        expect(source.reads).toBe(Math.min(ranges.length, k + 2)); // this one and the next
        await sleep(3); // the read ahead lands meanwhile: it must not be into this buffer
        expect(Buffer.compare(got, data.subarray(r.offsetBytes, r.offsetBytes + r.sizeBytes)), `range ${k}`).toBe(0);
      }
      await expect(reads.next()).rejects.toThrow(RangeError);
    }
  });

  it('reads past the end as zeros, and works for a source that only has read()', async () => {
    const data = seededRng(2).bytes(10_000);
    const reads = new ReadAhead(new MemoryBlockSource(data), [
      { offsetBytes: 8192, sizeBytes: 4096 },
      { offsetBytes: 0, sizeBytes: 100 },
    ]);
    const tail = await reads.next();
    expect(tail.subarray(0, 1808)).toEqual(Buffer.from(data.subarray(8192)));
    expect(tail.subarray(1808).every((b) => b === 0)).toBe(true);
    expect(await reads.next()).toEqual(Buffer.from(data.subarray(0, 100)));
  });

  it('throws a failed read from next(), and one started ahead and never asked for is not unhandled', async () => {
    const source = slowSource(new Uint8Array(10_000), 4);
    source.readInto = async () => {
      source.reads++;
      throw new Error(`read ${source.reads} failed`);
    };
    const reads = new ReadAhead(source, rangesOf(10_000, 1000));
    await expect(reads.next()).rejects.toThrow('read 1 failed');
    await sleep(5); // read 2, started ahead, has failed by now with no one awaiting it
    expect(source.reads).toBe(2);
  });

  it('with no ranges, holds no buffer and has nothing to give', async () => {
    await expect(new ReadAhead(new MemoryBlockSource(new Uint8Array(0)), []).next()).rejects.toThrow(RangeError);
  });
});
