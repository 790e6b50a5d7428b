// Hostile and damaged blobs: wrong declared sizes, decompression bombs, truncation, bit flips
// and trailing bytes must all end in PackageFormatError (exit 4), never a crash or a huge buffer.

import { describe, expect, it } from 'vitest';
import { allCodecs } from './codec-pairs.js';
import type { CodecPair as Codec } from './codec-pairs.js';
import { PackageFormatError } from '../../src/errors/ota-error.js';
import { expectBlobError } from './expect-blob-error.js';
import { flipBit, prng, textLike } from './sample-data.js';

const MiB = 1024 * 1024;
const compressing = allCodecs().filter((codec) => codec.name !== 'none');

/** Fastest level, to keep making 64 MiB bombs cheap. */
function fastLevel(codec: Codec): number {
  return codec.name === 'brotli' ? 5 : codec.minLevel;
}

describe.each(allCodecs().map((codec) => [codec.name, codec] as const))('%s decode caps', (_name, codec) => {
  const data = textLike(64 * 1024, 5);

  it('rejects a declared size smaller or larger than the content', async () => {
    const encoded = await codec.encode(data, codec.defaultLevel);
    await expectBlobError(codec.decode(encoded, data.length - 1));
    await expectBlobError(codec.decode(encoded, 1000));
    await expectBlobError(codec.decode(encoded, 0));
    await expectBlobError(codec.decode(encoded, data.length + 1));
  });

  it('rejects a declared size that is not a byte count', async () => {
    const encoded = await codec.encode(data, codec.defaultLevel);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])
      await expectBlobError(codec.decode(encoded, bad));
  });

  it('rejects every truncation', async () => {
    const encoded = await codec.encode(data, codec.defaultLevel);
    const cuts = new Set([0, 1, 4, 12, Math.floor(encoded.length / 2), encoded.length - 8, encoded.length - 1]);
    for (const cut of cuts)
      if (cut >= 0 && cut < encoded.length) await expectBlobError(codec.decode(encoded.subarray(0, cut), data.length));
  });

  it('rejects trailing bytes', async () => {
    const encoded = await codec.encode(data, codec.defaultLevel);
    await expectBlobError(codec.decode(Buffer.concat([encoded, Buffer.from('trailing')]), data.length));
  });
});

describe.each(compressing.map((codec) => [codec.name, codec] as const))(
  '%s against bombs and bit flips',
  (_name, codec) => {
    it('stops a 64 MiB bomb declared as 1 MiB without holding 64 MiB', async () => {
      const bomb = await codec.encode(Buffer.alloc(64 * MiB), fastLevel(codec));
      expect(bomb.length).toBeLessThan(MiB);
      const before = process.memoryUsage();
      await expectBlobError(codec.decode(bomb, MiB));
      const after = process.memoryUsage();
      const grownBytes = after.arrayBuffers + after.external - (before.arrayBuffers + before.external);
      expect(grownBytes).toBeLessThan(16 * MiB);
    });

    // brotli (RFC 7932) carries no checksum, so a flip can decode to other bytes of the declared
    // size; the package's blob sha256 catches that before decoding. The others check CRC/XXH64.
    const hasIntegrityCheck = codec.name !== 'brotli';

    it(
      hasIntegrityCheck
        ? 'rejects a bit-flipped blob or decodes it to the original bytes (seeded)'
        : 'never crashes on a bit-flipped blob and never exceeds the declared size (seeded)',
      async () => {
        const data = textLike(16 * 1024, 6);
        const encoded = await codec.encode(data, codec.defaultLevel);
        const next = prng(77);
        let rejected = 0;
        const trials = 150;
        for (let trial = 0; trial < trials; trial++) {
          const bit = Math.floor(next() * encoded.length * 8);
          const outcome = await codec.decode(flipBit(encoded, bit), data.length).then(
            (out) => out,
            (e: unknown) => e,
          );
          if (outcome instanceof Buffer) {
            expect(outcome.length).toBe(data.length);
            // Only bits no decoder reads (gzip MTIME/XFL/OS header fields, final padding) may flip silently.
            if (hasIntegrityCheck)
              expect(outcome.equals(data), `bit ${bit} (seed 77, trial ${trial}) decoded to other bytes`).toBe(true);
          } else {
            expect(outcome, `bit ${bit}: ${String(outcome)}`).toBeInstanceOf(PackageFormatError);
            rejected += 1;
          }
        }
        if (hasIntegrityCheck) expect(rejected).toBeGreaterThan(trials * 0.9);
      },
    );
  },
);
