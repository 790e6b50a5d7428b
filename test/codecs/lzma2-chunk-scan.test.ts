// The raw LZMA2 chunk scan (lzma2-chunk-scan.ts) and the pool decode it cuts for: slices of whole
// chunks that decode to what their headers declare, stored and end-only streams, every framing
// fault refused before decoding, and mutated streams that either decode exactly or fail typed
// (never hang, never a wrong length).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanLzma2Chunks } from '../../src/codecs/lzma2-chunk-scan.js';
import { decodeCapped, decodeCappedOnPool } from '../../src/codecs/lzma-capped-decode.js';
import { decodeRawLzma2, encodeRawLzma2, lzmaNative } from '../../src/codecs/raw-lzma2.js';
import { PackageFormatError } from '../../src/errors/ota-error.js';
import { prng, suiteSeed } from '../helpers/seeded-random.js';
import { expectBlobError } from './expect-blob-error.js';

const MiB = 1024 * 1024;
const SEED = suiteSeed(0x1c5c);
const TUNING = { lc: 3, lp: 0, pb: 2 };

/** Runs of text and random bytes: many LZMA chunks, some stored. */
function sample(sizeBytes: number, seed = SEED): Buffer {
  const next = prng(seed);
  const out = Buffer.alloc(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) out[i] = i % 65536 < 40000 ? 97 + (i % 23) : Math.floor(next() * 256);
  return out;
}

/** A stored chunk (control 1: dictionary reset, 2: none) holding `bytes`. */
function storedChunk(bytes: Buffer, control: 1 | 2): Buffer {
  const header = Buffer.from([control, 0, 0]);
  header.writeUInt16BE(bytes.length - 1, 1);
  return Buffer.concat([header, bytes]);
}

/** The scan's error for `data` declared as `sizeBytes`. */
function scanError(data: Buffer, sizeBytes: number): PackageFormatError {
  try {
    scanLzma2Chunks('t', data, sizeBytes, MiB);
  } catch (e) {
    expect(e).toBeInstanceOf(PackageFormatError);
    expect((e as PackageFormatError).code).toBe('BLOB_DECODE_FAILED');
    return e as PackageFormatError;
  }
  throw new Error('the scan accepted the stream');
}

describe('scanLzma2Chunks', () => {
  it('cuts a multi-chunk stream into whole-chunk slices of bounded output that decode to exactly their declared ends', async () => {
    const data = sample(5 * MiB + 123);
    const packed = await encodeRawLzma2(data, TUNING, 23);
    const cuts = scanLzma2Chunks('t', packed, data.length, MiB);
    expect(cuts.inputEnds.at(-1)).toBe(packed.length);
    expect(cuts.outputEnds.at(-1)).toBe(data.length);
    expect(cuts.inputEnds.length).toBeGreaterThanOrEqual(3);
    let before = 0;
    for (const end of cuts.outputEnds) {
      // A slice is closed by the first chunk that takes it to a MiB; a chunk holds at most 2 MiB.
      expect(end - before).toBeGreaterThan(0);
      expect(end - before).toBeLessThan(3 * MiB);
      before = end;
    }
    // Each slice's input decodes to the slice's declared output: a prefix cut at a slice end
    // decodes exactly the bytes before it (the stream is then only missing its tail).
    for (const [k, end] of cuts.inputEnds.slice(0, -1).entries()) {
      const prefix = Buffer.concat([packed.subarray(0, end), Buffer.from([0])]);
      const coder = new (lzmaNative().Stream)();
      coder.rawDecoder({ filters: [{ id: lzmaNative().FILTER_LZMA2, options: { dictSize: 2 ** 23 } }] });
      const made = await decodeCappedOnPool('t', coder, prefix, cuts.outputEnds[k]!, [end, end + 1]);
      expect(made.equals(data.subarray(0, cuts.outputEnds[k]!))).toBe(true);
    }
    expect((await decodeRawLzma2('t', packed, 23, data.length)).equals(data)).toBe(true);
  });

  it('also ends a slice at a MiB of input: chunks declaring 1 byte from 64 KiB each are not fed whole', async () => {
    const chunk = Buffer.concat([Buffer.from([0xe0, 0, 0, 0xff, 0xff, 0x5d]), Buffer.alloc(65536, 0x33)]);
    const hostile = Buffer.concat([...Array.from({ length: 40 }, () => chunk), Buffer.from([0])]);
    const cuts = scanLzma2Chunks('t', hostile, 40, MiB);
    let before = 0;
    for (const end of cuts.inputEnds) {
      expect(end - before).toBeLessThanOrEqual(MiB + chunk.length + 1);
      before = end;
    }
    expect(cuts.inputEnds.length).toBe(3);
    // liblzma refuses the first chunk's contents.
    await expectBlobError(decodeRawLzma2('t', hostile, 12, 40));
  });

  it('reads stored chunks and the empty stream, and decodes them', async () => {
    const a = Buffer.from('stored chunk one, ');
    const b = Buffer.alloc(70_000, 0x42).subarray(0, 65536); // the largest stored chunk
    const stream = Buffer.concat([storedChunk(a, 1), storedChunk(b, 2), Buffer.from([0])]);
    const cuts = scanLzma2Chunks('t', stream, a.length + b.length, 16);
    expect(cuts.inputEnds).toEqual([a.length + 3, stream.length]);
    expect(cuts.outputEnds).toEqual([a.length, a.length + b.length]);
    expect((await decodeRawLzma2('t', stream, 17, a.length + b.length)).equals(Buffer.concat([a, b]))).toBe(true);
    expect(scanLzma2Chunks('t', Buffer.from([0]), 0, MiB)).toEqual({ inputEnds: [1], outputEnds: [0] });
    expect((await decodeRawLzma2('t', Buffer.from([0]), 12, 0)).length).toBe(0);
  });

  it('refuses every framing fault before decoding, in one typed line', async () => {
    const data = sample(200_000);
    const packed = await encodeRawLzma2(data, TUNING, 18);
    const stored = Buffer.concat([storedChunk(Buffer.from('abcdef'), 1), Buffer.from([0])]);
    expect(scanError(Buffer.from([0x03, 0, 0, 0]), 1).message).toMatch(/invalid LZMA2 control byte 0x3 at offset 0/);
    expect(scanError(Buffer.concat([storedChunk(Buffer.from('ab'), 1), Buffer.from([0x7f])]), 2).message).toMatch(
      /control byte 0x7f at offset 5/,
    );
    expect(scanError(Buffer.alloc(0), 0).message).toMatch(/chunk control byte at offset 0 runs past the 0-byte stream/);
    expect(scanError(packed.subarray(0, 3), data.length).message).toMatch(/LZMA chunk header/);
    expect(scanError(stored.subarray(0, 2), 6).message).toMatch(/stored chunk header/);
    expect(scanError(stored.subarray(0, 7), 6).message).toMatch(/chunk data at offset 3 runs past/);
    expect(scanError(stored.subarray(0, 9), 6).message).toMatch(/chunk control byte at offset 9/); // no end marker
    expect(scanError(Buffer.concat([stored, Buffer.from([0])]), 6).message).toMatch(
      /the stream ends after 10 of its 11 bytes/,
    );
    expect(scanError(stored, 5).message).toMatch(/exceeds the declared 5 bytes/);
    expect(scanError(stored, 7).message).toMatch(/output is 6 bytes, declared 7/);
    // The pool decoder refuses them the same way (nothing is decoded).
    expect((await expectBlobError(decodeRawLzma2('t', packed, 18, data.length - 1))).message).toMatch(/exceeds/);
  });

  it('a mutated stream decodes to exactly its declared size or is refused typed, never hangs, the same on the pool and on this thread (property)', async () => {
    const data = sample(300_000, SEED + 1);
    const packed = await encodeRawLzma2(data, TUNING, 19);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: packed.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        async (edits) => {
          const mutated = Buffer.from(packed);
          for (const [at, value] of edits) mutated[at] = value;
          const outcome = await decodeRawLzma2('t', mutated, 19, data.length).then(
            (made) => made.length,
            (e: unknown) => e,
          );
          if (typeof outcome === 'number') expect(outcome).toBe(data.length);
          else {
            expect(outcome).toBeInstanceOf(PackageFormatError);
            expect((outcome as PackageFormatError).code).toBe('BLOB_DECODE_FAILED');
          }
          // The worker-thread driver (decodeCapped) reaches the same outcome on the same cuts.
          const cuts = (() => {
            try {
              return scanLzma2Chunks('t', mutated, data.length, MiB).inputEnds;
            } catch {
              return undefined;
            }
          })();
          if (cuts) {
            const coder = new (lzmaNative().Stream)();
            coder.rawDecoder({ filters: [{ id: lzmaNative().FILTER_LZMA2, options: { dictSize: 2 ** 19 } }] });
            let sync: unknown;
            try {
              sync = decodeCapped('t', coder, mutated, data.length, cuts).length;
            } catch (e) {
              sync = e;
            }
            if (typeof outcome === 'number') expect(sync).toBe(outcome);
            else expect((sync as Error).message).toBe((outcome as Error).message);
          }
        },
      ),
      // Offsets 0..5 are the first chunk's header: sizes, then the properties byte.
      { numRuns: 60, seed: 20261207, examples: [[[[1, 0xff]]], [[[3, 0]]], [[[5, 0xff]]], [[[0, 0x01]]]] },
    );
  });
});
