// The floor deflate-aware states under every replace codec of a chunk (replaceFloorBytes,
// diff/entropy-coded-floor.ts), which lets the full-image rules skip the slow codecs where the
// sourceless patch is under it: it must stay under what the strongest codecs really make of the
// chunk, also where the deflated bytes repeat (members in two archives, members that start alike,
// many tiny members) or are not entropy-coded (stored blocks), and where the bytes between the
// streams are (stored compressed files, counted once) or only look so (padding, repeated records).

import { describe, expect, it } from 'vitest';
import { encoderByName } from '../../src/codecs/encoder-registry.js';
import { DeflateAwareDiffer } from '../../src/diff/deflate-aware-differ.js';
import { DEFAULT_SEARCH_LIMITS, findDeflateStreams } from '../../src/diff/deflate-streams.js';
import { randomBytes, textLike } from '../codecs/sample-data.js';
import { zipArchive, type ZipMember } from '../helpers/zip-archive.js';

const KiB = 1024;

/** The strongest slow codecs at their top levels: the smallest replace output of `data`. */
async function bestCodecBytes(data: Uint8Array): Promise<number> {
  const sizes = await Promise.all(
    [
      ['xz', 9],
      ['zstd', 19],
      ['brotli', 11],
    ].map(async ([codec, level]) => (await encoderByName(codec as string).encode(data, level as number)).length),
  );
  return Math.min(...sizes);
}

describe('the replace floor of a sourceless deflate-aware chunk', () => {
  it('stays under the best codec where deflated bytes repeat, start alike, are tiny or stored', async () => {
    const text = textLike(160 * KiB, 11);
    const alike = Buffer.concat([text.subarray(0, 120 * KiB), textLike(40 * KiB, 12)]);
    // Random data repeated past deflate's 32 KiB window: stored blocks, which xz halves.
    const noise = randomBytes(40 * KiB, 13);
    const tiny: ZipMember[] = Array.from({ length: 60 }, (_, i) => ({
      name: `res/v${i}.xml`,
      data: Buffer.from(`<?xml version="1.0"?><resources><string name="n${i}">value ${i % 7}</string></resources>`),
      level: 6,
    }));
    const js: ZipMember[] = [
      { name: 'a.js', data: text, level: 6 },
      { name: 'b.js', data: alike, level: 6 },
    ];
    const chunk = Buffer.concat([
      zipArchive([...js, ...tiny, { name: 'n.bin', data: Buffer.concat([noise, noise]), level: 6 }]),
      zipArchive([...js, ...tiny]),
      zipArchive(js),
    ]);
    const differ = new DeflateAwareDiffer();
    const floor = differ.replaceFloorBytes(chunk);
    const best = await bestCodecBytes(chunk);
    // Every deflated byte counted as it is would claim more than a codec really leaves.
    const streams = findDeflateStreams(chunk, DEFAULT_SEARCH_LIMITS);
    const naive = streams.reduce((sum, s) => sum + s.deflatedBytes, 0);
    expect(naive).toBeGreaterThan(best);
    expect(floor).toBeGreaterThan(0);
    expect(floor).toBeLessThan(best);
  });

  it('counts near-uniform stored members between the streams once, and stays under the best codec', async () => {
    const js = { name: 'a.js', data: textLike(200 * KiB, 16), level: 6 };
    const png = randomBytes(96 * KiB, 17); // stands in for an already compressed file, stored
    const streamsOnly = zipArchive([js]);
    const withStored = zipArchive([
      js,
      { name: 'res/a.png', data: png, level: 0 },
      { name: 'res/copy.png', data: png, level: 0 },
      { name: 'NOTICE.txt', data: textLike(64 * KiB, 18), level: 0 },
    ]);
    const differ = new DeflateAwareDiffer();
    const before = differ.replaceFloorBytes(streamsOnly);
    const floor = differ.replaceFloorBytes(withStored);
    // The stored image counts (once: its copy is a repeat); the stored text does not.
    expect(floor - before).toBeGreaterThan(0.85 * png.length);
    expect(floor - before).toBeLessThan(1.1 * png.length);
    expect(floor).toBeLessThan(await bestCodecBytes(withStored));
  });

  it('counts no padding (erased flash: 0xFF) after a stored member, nor records with repeated fields, between the streams', async () => {
    const js = { name: 'a.js', data: textLike(200 * KiB, 19), level: 6 };
    const blob = randomBytes(64 * KiB, 20);
    // A verity-like tree: 32-byte hashes, one in sixteen the same (the hash of a zero block): its
    // byte counts look uniform (over 7.9 bits), its repeated words do not.
    const zeroHash = randomBytes(32, 21);
    const tree = Buffer.concat(
      Array.from({ length: 2048 }, (_, i) => (i % 16 === 0 ? zeroHash : randomBytes(32, 1000 + i))),
    );
    const differ = new DeflateAwareDiffer();
    const before = differ.replaceFloorBytes(zipArchive([js]));
    const padded = zipArchive([
      js,
      { name: 'fw.bin', data: Buffer.concat([blob, Buffer.alloc(1024 * KiB, 0xff)]), level: 0 },
    ]);
    expect(differ.replaceFloorBytes(padded) - before).toBeLessThan(1.05 * blob.length);
    const withTree = zipArchive([js, { name: 'verity.bin', data: tree, level: 0 }]);
    expect(differ.replaceFloorBytes(withTree)).toBe(before);
    expect(before).toBeLessThan(await bestCodecBytes(withTree));
  });

  it('is the same after diff() from no source as computed on its own, and counts no text outside streams', async () => {
    const zip = zipArchive([{ name: 'a.js', data: textLike(300 * KiB, 14), level: 9 }]);
    const fresh = new DeflateAwareDiffer().replaceFloorBytes(zip);
    const differ = new DeflateAwareDiffer();
    await differ.diff(new Uint8Array(0), zip);
    expect(differ.replaceFloorBytes(zip)).toBe(fresh);
    expect(fresh).toBeGreaterThan(0.8 * zip.length);
    expect(new DeflateAwareDiffer().replaceFloorBytes(textLike(300 * KiB, 15))).toBe(0);
  });
});
