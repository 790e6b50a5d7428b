// The bounded bzip2 stream decoding (seek-bzip with an output cap) against libbzip2 output (inside
// bsdiff-node and `bsdiff` patches), against our test encoder, and against hostile streams.

import { describe, expect, it } from 'vitest';
import { BsdiffDiffer } from '../../src/diff/bsdiff-differ.js';
import { decodeBzip2 } from '../../src/diff/bzip2-stream.js';
import { expectBlobError } from '../codecs/expect-blob-error.js';
import { flipBit, prng, randomBytes, textLike } from '../codecs/sample-data.js';
import { encodeBzip2ForTest, offt } from './bzip2-test-encoder.js';

const MiB = 1024 * 1024;

/** The three bzip2 streams of a BSDIFF40 patch. */
function streamsOf(patch: Buffer): Buffer[] {
  const ctrlBytes = patch.readUInt32LE(8);
  const diffBytes = patch.readUInt32LE(16);
  return [
    patch.subarray(32, 32 + ctrlBytes),
    patch.subarray(32 + ctrlBytes, 32 + ctrlBytes + diffBytes),
    patch.subarray(32 + ctrlBytes + diffBytes),
  ];
}

function decodeAsync(data: Uint8Array, maxOutputBytes: number): Promise<Buffer> {
  return Promise.resolve().then(() => decodeBzip2(data, maxOutputBytes).output);
}

describe('decodeBzip2', () => {
  it('decodes libbzip2 streams with several 900 kB blocks (a 2.5 MiB diff block)', async () => {
    const source = randomBytes(2.5 * MiB, 31);
    const target = Buffer.from(source);
    for (let i = 0; i < target.length; i += 997) target[i] = (target[i] ?? 0) ^ 0x5a;
    const patch = await new BsdiffDiffer().diff(source, target);
    const [, diff] = streamsOf(patch);
    const decoded = decodeBzip2(diff as Buffer, target.length).output;
    expect(decoded.length).toBe(target.length);
    for (let i = 0; i < decoded.length; i++) {
      const expected = ((target[i] as number) - (source[i] as number)) & 0xff;
      if (decoded[i] !== expected) throw new Error(`byte ${i}: ${decoded[i]} != ${expected}`);
    }
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([42])],
    ['runs of every length 1..300', Buffer.concat(Array.from({ length: 300 }, (_, i) => Buffer.alloc(i + 1, i % 7)))],
    ['text', textLike(5000, 32)],
    ['random', randomBytes(3000, 33)],
  ])('round-trips %s through the test encoder', (_label, data) => {
    expect(decodeBzip2(encodeBzip2ForTest(data), data.length).output.equals(data)).toBe(true);
  });

  it('stops at the output cap', async () => {
    const data = Buffer.alloc(100_000, 1);
    const error = await expectBlobError(decodeAsync(encodeBzip2ForTest(data), 99_999));
    expect(error.message).toMatch(/expands past 99999 bytes/);
  });

  it('a stream with more selectors than libbzip2 can hold (CVE-2019-12900) cannot write out of bounds', async () => {
    // libbzip2 1.0.6 writes past its selector array here; the JavaScript decoder either rejects
    // the stream or decodes it within the cap, and never touches memory it does not own.
    const data = textLike(100);
    const stream = encodeBzip2ForTest(data, { selectorCountOverride: 18_003 });
    const outcome = await decodeAsync(stream, 1000).then(
      (out) => out,
      (e: unknown) => e,
    );
    if (outcome instanceof Buffer) expect(outcome.equals(data)).toBe(true);
    else await expectBlobError(Promise.reject(outcome));
  });

  it('rejects a wrong block CRC, a bad magic, a bad block size, truncation and bit flips', async () => {
    const data = textLike(4000, 34);
    const good = encodeBzip2ForTest(data);
    await expectBlobError(decodeAsync(encodeBzip2ForTest(data, { corruptBlockCrc: true }), data.length));
    await expectBlobError(decodeAsync(Buffer.concat([Buffer.from('BZx9'), good.subarray(4)]), data.length));
    await expectBlobError(decodeAsync(Buffer.concat([Buffer.from('BZh0'), good.subarray(4)]), data.length));
    for (const cut of [0, 3, 10, good.length >> 1, good.length - 1])
      await expectBlobError(decodeAsync(good.subarray(0, cut), data.length));
    const next = prng(35);
    for (let trial = 0; trial < 100; trial++) {
      // The last byte's low bits are padding; flip only bits a decoder reads.
      const bit = Math.floor(next() * (good.length - 1) * 8);
      const outcome = await decodeAsync(flipBit(good, bit), data.length).then(
        (out) => out,
        (e: unknown) => e,
      );
      if (outcome instanceof Buffer) expect(outcome.equals(data)).toBe(true);
      else await expectBlobError(Promise.reject(outcome));
    }
  });

  it('reads offsets the way bsdiff writes them', () => {
    expect(offt(-5).equals(Buffer.from([5, 0, 0, 0, 0, 0, 0, 0x80]))).toBe(true);
  });
});
