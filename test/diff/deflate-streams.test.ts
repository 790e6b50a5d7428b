// findDeflateStreams (src/diff/deflate-streams.ts) jumps from one possible header to the next by
// byte search: every zip, gzip and zlib stream between noise full of header look-alikes is found
// at its exact offset and length, in order, whatever bytes come before, between and after.

import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDeflateStreams } from '../../src/diff/deflate-streams.js';
import { zipArchive } from '../helpers/zip-archive.js';
import { textLike } from '../codecs/sample-data.js';

/** Noise made of header bytes and their neighbours: many false starts of every kind. */
const noise = fc.uint8Array({ maxLength: 96 }).map((raw) => {
  const alphabet = [0x50, 0x4b, 0x03, 0x04, 0x1f, 0x8b, 0x08, 0x78, 0x01, 0x5e, 0x9c, 0xda, 0x00, 0xff];
  return Uint8Array.from(raw, (b) => alphabet[b % alphabet.length]!);
});

type Kind = 'zip' | 'gzip' | 'zlib';

/** A container of `kind` around ~2 KB of text: its bytes and where its deflate data starts and ends. */
function container(kind: Kind, seed: number): { bytes: Buffer; startByte: number; deflatedBytes: number } {
  const data = textLike(1500 + (seed % 1000), seed);
  if (kind === 'zlib') {
    const bytes = deflateSync(data, { level: 6 });
    return { bytes, startByte: 2, deflatedBytes: bytes.length - 6 };
  }
  if (kind === 'gzip') {
    const bytes = gzipSync(data, { level: 9 });
    return { bytes, startByte: 10, deflatedBytes: bytes.length - 18 };
  }
  const name = `m${seed}.txt`;
  const bytes = zipArchive([{ name, data, level: 6 }]);
  const deflatedBytes = bytes.readUInt32LE(18);
  return { bytes, startByte: 30 + name.length, deflatedBytes };
}

describe('findDeflateStreams', () => {
  it('finds every stream between header look-alikes, at its offset and length, in order', () => {
    const part = fc.tuple(noise, fc.constantFrom<Kind>('zip', 'gzip', 'zlib'), fc.nat(5000));
    fc.assert(
      fc.property(fc.array(part, { maxLength: 5 }), noise, (parts, tail) => {
        const pieces: Uint8Array[] = [];
        const expected: { startByte: number; deflatedBytes: number; kind: Kind }[] = [];
        let at = 0;
        for (const [before, kind, seed] of parts) {
          const c = container(kind, seed);
          pieces.push(before, c.bytes);
          expected.push({ startByte: at + before.length + c.startByte, deflatedBytes: c.deflatedBytes, kind });
          at += before.length + c.bytes.length;
        }
        pieces.push(tail);
        const found = findDeflateStreams(Buffer.concat(pieces));
        expect(found.map(({ startByte, deflatedBytes, kind }) => ({ startByte, deflatedBytes, kind }))).toEqual(
          expected,
        );
      }),
      { numRuns: 60, seed: 20261205 },
    );
  });

  it('stops after maxStreams and finds nothing in look-alikes alone or at the very end', () => {
    const a = container('zlib', 1);
    const b = container('gzip', 2);
    const data = Buffer.concat([a.bytes, b.bytes]);
    expect(findDeflateStreams(data, undefined, 1).map((s) => s.startByte)).toEqual([a.startByte]);
    expect(findDeflateStreams(Buffer.from([0x78, 0x9c, 0x1f, 0x8b, 0x08, 0x50, 0x4b, 0x03, 0x04]))).toEqual([]);
    expect(findDeflateStreams(Buffer.from([0x00, 0x78]))).toEqual([]);
  });

  it('finds a stream of stored blocks, and nothing where the first block is of type 3 or a stored length is broken', () => {
    const data = textLike(3000, 7);
    const stored = deflateSync(data, { level: 0 }); // zlib header, then stored blocks
    expect((stored[2]! >> 1) & 3).toBe(0);
    const found = findDeflateStreams(Buffer.concat([Buffer.alloc(100, 0x33), stored]), undefined, 1);
    expect(found.map((f) => [f.startByte, f.inflated.equals(data)])).toEqual([[102, true]]);
    const reserved = Buffer.from(stored);
    reserved[2] = reserved[2]! | 0b110; // block type 3
    const badLength = Buffer.from(stored);
    badLength[3] = badLength[3]! ^ 1; // LEN no longer the complement of NLEN
    for (const broken of [reserved, badLength]) expect(findDeflateStreams(broken)).toEqual([]);
  });
});
