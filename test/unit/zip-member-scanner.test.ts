// ZipMemberScanner finds the same members whatever the pieces the image arrives in (a header cut
// anywhere by a piece boundary is carried over), skips stored, data-descriptor and oversized
// members, and never searches inside a member found.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ZipMemberScanner } from '../../src/image/zip-member-scanner.js';
import type { Extent } from '../../src/model/extent.js';
import { jsLikeText, zipArchive } from '../helpers/zip-archive.js';
import { suiteSeed } from '../helpers/seeded-random.js';

const BS = 4096;
const SEED = suiteSeed(0x21b);

/** An image with two archives: members of every kind, one archive starting a byte before a block. */
function image(): { bytes: Buffer; expected: Extent[] } {
  const bytes = Buffer.alloc(160 * 1024);
  const first = zipArchive([
    { name: 'a.js', data: jsLikeText(30_000, SEED), level: 9 }, // deflated: found
    { name: 'b.bin', data: jsLikeText(20_000, SEED + 1), level: 0 }, // stored: not deflate
    { name: 'tiny.js', data: Buffer.from('x'), level: 6 }, // one block: too small to matter
  ]);
  const second = zipArchive([{ name: 'c.js', data: jsLikeText(60_000, SEED + 2), level: 6 }]);
  first.copy(bytes, 8192 + 13);
  second.copy(bytes, 20 * BS - 1);
  // A header with a data descriptor (flag 8) and sizes zeroed, as streaming zip writers make.
  const streamed = zipArchive([{ name: 'd.js', data: jsLikeText(9_000, SEED + 3), level: 6 }]);
  streamed.writeUInt16LE(8, 6);
  streamed.copy(bytes, 34 * BS + 100);
  const span = (at: number, member: Buffer) => {
    const end = at + 30 + member.readUInt16LE(26) + member.readUInt16LE(28) + member.readUInt32LE(18);
    return { startBlock: Math.floor(at / BS), blockCount: Math.ceil(end / BS) - Math.floor(at / BS) };
  };
  return { bytes, expected: [span(8192 + 13, first), span(20 * BS - 1, second)] };
}

function scan(bytes: Buffer, cuts: readonly number[], maxSpanBlocks = 64): Extent[] {
  const scanner = new ZipMemberScanner(bytes.length, BS, maxSpanBlocks);
  let at = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b).concat(bytes.length)) {
    if (cut <= at) continue;
    scanner.feed(at, Buffer.from(bytes.subarray(at, cut))); // a fresh copy, as a reader's buffer would be
    at = cut;
  }
  return scanner.spans();
}

describe('ZipMemberScanner', () => {
  it('finds the deflated members that span blocks, and only those', () => {
    const { bytes, expected } = image();
    expect(expected.every((e) => e.blockCount >= 2)).toBe(true);
    expect(scan(bytes, [])).toEqual(expected);
  });

  it('leaves out members longer than maxSpanBlocks', () => {
    const { bytes, expected } = image();
    const max = Math.min(...expected.map((e) => e.blockCount));
    expect(scan(bytes, [], max)).toEqual(expected.filter((e) => e.blockCount <= max));
  });

  it('finds the same members wherever the pieces are cut (every cut around each header, then random cuts)', () => {
    const { bytes, expected } = image();
    for (const header of [8192 + 13, 20 * BS - 1])
      for (let d = -4; d <= 31; d++) expect(scan(bytes, [header + d]), `cut at header ${d}`).toEqual(expected);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(scan(bytes, cuts)).toEqual(expected);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('finds the same members when the image comes in pieces shorter or just longer than a header', () => {
    const { bytes, expected } = image();
    for (const size of [1, 7, 28, 29, 31]) {
      const cuts = Array.from({ length: Math.floor(bytes.length / size) }, (_, k) => (k + 1) * size);
      expect(scan(bytes, cuts), `pieces of ${size} bytes`).toEqual(expected);
    }
  });

  it('a gap between pieces (a run that is not read) drops the carry instead of joining across it', () => {
    const { bytes, expected } = image();
    const scanner = new ZipMemberScanner(bytes.length, BS, 64);
    const header = 20 * BS - 1;
    scanner.feed(0, bytes.subarray(0, header + 10));
    scanner.feed(header + 20, bytes.subarray(header + 20)); // bytes header+10 .. header+20 never arrive
    expect(scanner.spans()).toEqual(expected.slice(0, 1));
  });
});
