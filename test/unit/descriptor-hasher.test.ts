// The two descriptor hashers (descriptor-hasher.ts): the worker thread's and this thread's give the
// same sha256 for the same file and the same calls (final stretches, some of them known zeros,
// zeroed byte ranges), the sha256 of the bytes they were told to take; both reject a file that
// ends before `sizeBytes`; and startDescriptorHash picks by size unless told.

import { createHash } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DescriptorHasher,
  InlineDescriptorHasher,
  startDescriptorHash,
  WORKER_HASH_MIN_BYTES,
  type DescriptorHashOptions,
  type FileHasher,
} from '../../src/apply/descriptor-hasher.js';
import { mulberry32 } from '../../src/hashing/mulberry32.js';

const work = mkdtempSync(join(tmpdir(), 'ota-descriptor-hasher-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let files = 0;

/** Seeded bytes with a few zero runs. */
function fileBytes(sizeBytes: number, seed: number): Buffer {
  const next = mulberry32(seed);
  const out = Buffer.alloc(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) out[i] = next() & 0xff;
  return out;
}

/** Runs `calls` on a hasher of `bytes` (written to a file) and returns its digest, or the rejection. */
async function digestOf(
  make: (fd: number, o: DescriptorHashOptions) => FileHasher,
  bytes: Buffer,
  options: DescriptorHashOptions,
  calls: readonly { endBytes: number; zeros: boolean }[],
): Promise<string> {
  const path = join(work, `f-${files++}`);
  writeFileSync(path, bytes);
  const fd = openSync(path, 'r');
  try {
    const hasher = make(fd, options);
    for (const c of calls) hasher.extend(c.endBytes, c.zeros);
    return (await hasher.digest()).toString('hex');
  } finally {
    closeSync(fd);
  }
}

const onWorker = (fd: number, o: DescriptorHashOptions) => DescriptorHasher.start(fd, o);
const here = (fd: number, o: DescriptorHashOptions) => new InlineDescriptorHasher(fd, o);

describe('descriptor hashers', () => {
  it('agree with each other and with the bytes they were told to take (known zeros, zeroed ranges)', async () => {
    const input = fc
      .record({
        sizeBytes: fc.integer({ min: 0, max: 3 * 1024 * 1024 }),
        seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        // Thousandths of the size: where each extend ends (mostly ascending, as a frontier moves;
        // one that does not move is ignored), whether that stretch is known zeros.
        cuts: fc.array(fc.record({ at: fc.integer({ min: 0, max: 1200 }), zeros: fc.boolean() }), { maxLength: 8 }),
        zeroed: fc.array(
          fc.record({ at: fc.integer({ min: 0, max: 1000 }), length: fc.integer({ min: 1, max: 300_000 }) }),
          { maxLength: 4 },
        ),
      })
      .map(({ sizeBytes, seed, cuts, zeroed }) => ({
        sizeBytes,
        seed,
        calls: cuts
          .sort((a, b) => a.at - b.at)
          .map((c) => ({ endBytes: Math.floor((c.at * sizeBytes) / 1000), zeros: c.zeros })),
        zeroed: zeroed
          .map((z) => [Math.floor((z.at * sizeBytes) / 1000), z.length] as const)
          .filter(([start]) => start < sizeBytes)
          .sort((a, b) => a[0] - b[0])
          // Disjoint, as DONT_CARE extents are.
          .filter(([start], i, all) => i === 0 || start >= all[i - 1]![0] + all[i - 1]![1]),
      }));
    await fc.assert(
      fc.asyncProperty(input, async ({ sizeBytes, seed, calls, zeroed }) => {
        const bytes = fileBytes(sizeBytes, seed);
        // What both must hash: the file, with the stretches the calls call zeros and the zeroed ranges as zeros.
        const expected = Buffer.from(bytes);
        let finalBytes = 0;
        for (const c of calls) {
          const end = Math.min(c.endBytes, sizeBytes);
          if (end <= finalBytes) continue;
          if (c.zeros) expected.fill(0, finalBytes, end);
          finalBytes = end;
        }
        for (const [start, length] of zeroed) expected.fill(0, start, Math.min(sizeBytes, start + length));
        const options = { sizeBytes, zeroed };
        const a = await digestOf(onWorker, bytes, options, calls);
        const b = await digestOf(here, bytes, options, calls);
        expect(b).toBe(a);
        expect(a).toBe(createHash('sha256').update(expected).digest('hex'));
      }),
      { numRuns: 25, seed: 20261206 },
    );
  });

  it('both reject a file that ends before sizeBytes', async () => {
    const bytes = fileBytes(100_000, 3);
    for (const make of [onWorker, here])
      await expect(digestOf(make, bytes, { sizeBytes: 100_001 }, [])).rejects.toThrow(/ended at 100000 bytes/);
  });

  it('startDescriptorHash hashes a file under WORKER_HASH_MIN_BYTES on this thread unless told', async () => {
    const path = join(work, `f-${files++}`);
    writeFileSync(path, fileBytes(4096, 5));
    const fd = openSync(path, 'r');
    try {
      expect(startDescriptorHash(fd, { sizeBytes: 4096 })).toBeInstanceOf(InlineDescriptorHasher);
      const big = startDescriptorHash(fd, { sizeBytes: WORKER_HASH_MIN_BYTES });
      expect(big).toBeInstanceOf(DescriptorHasher);
      const told = startDescriptorHash(fd, { sizeBytes: 4096, onWorker: true });
      expect(told).toBeInstanceOf(DescriptorHasher);
      await big.stop();
      await told.stop();
    } finally {
      closeSync(fd);
    }
  });
});
