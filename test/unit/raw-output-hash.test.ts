// The running sha256 of a fresh raw output (RawOutput + write-frontier.ts + descriptor-hasher.ts,
// with either hasher) when ops write out of destination order: finish() must report the sha256 of the file's bytes and
// of the expected image, keep the hash running while every write is a planned extent at or ahead
// of the frontier, and fall back to a whole-file re-read (hash no longer running) only for a write
// behind the frontier or one the ops do not plan.

import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySteps } from '../../src/apply/apply-steps.js';
import { RawOutput } from '../../src/apply/raw-output.js';
import type { Extent } from '../../src/model/extent.js';
import type { PartitionUpdate } from '../../src/model/manifest.js';
import { ext, partitionOf as partOf, replaceOp as replace, zeroOp as zero } from '../helpers/plan-ops.js';

const BS = 512;

let dir: string;
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raw-output-hash-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Deterministic bytes, never all zero per block. */
function imageBytes(sizeBytes: number, seed: number): Buffer {
  const out = Buffer.alloc(Math.ceil(sizeBytes / BS) * BS);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The bytes of `dst` in `image`, concatenated. */
function bytesOf(image: Buffer, dst: readonly Extent[]): Buffer {
  return Buffer.concat(dst.map((e) => image.subarray(e.startBlock * BS, (e.startBlock + e.blockCount) * BS)));
}

/** The image the ops make: `image`'s bytes where a non-zero op writes, zeros elsewhere; `sizeBytes` long. */
function expectedImage(part: PartitionUpdate, image: Buffer): Buffer {
  const out = Buffer.alloc(image.length);
  for (const op of part.operations)
    if (op.type !== 'zero')
      for (const e of op.dst) image.copy(out, e.startBlock * BS, e.startBlock * BS, (e.startBlock + e.blockCount) * BS);
  return out.subarray(0, part.target.sizeBytes);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Applied {
  readonly sha256: string;
  readonly fileSha256: string;
  readonly running: boolean;
}

/**
 * Writes `part`'s ops in `order` (indexes) into a fresh RawOutput hashing on a worker thread or
 * on this one, then finishes it.
 */
async function applyWith(
  onWorker: boolean,
  part: PartitionUpdate,
  image: Buffer,
  order?: readonly number[],
): Promise<Applied> {
  const path = join(dir, `out-${files++}.img`);
  const out = await RawOutput.open(path, part, BS, onWorker);
  try {
    for (const i of order ?? part.operations.map((_, i) => i)) {
      const op = part.operations[i]!;
      if (op.type === 'zero') await out.zero(op.dst);
      else await out.write(op.dst, bytesOf(image, op.dst));
    }
    const running = out.hashRunning;
    const finished = await out.finish();
    const fileSha256 = sha(await readFile(path));
    return { sha256: finished.sha256.toString('hex'), fileSha256, running };
  } finally {
    await out.abort();
    await rm(path, { force: true });
  }
}

// Both hashers (descriptor-hasher.ts): a real image is hashed on a worker, a small one on this thread.
describe.each([
  ['on a worker thread', true],
  ['on this thread', false],
])('RawOutput running hash (%s)', (_, onWorker) => {
  const apply = (part: PartitionUpdate, image: Buffer, order?: readonly number[]) =>
    applyWith(onWorker, part, image, order);
  const image = imageBytes(64 * BS, 7);

  it('hashes ops in destination order', async () => {
    const part = partOf(
      64 * BS,
      [replace(ext(0, 8)), zero(ext(8, 8)), replace(ext(20, 10)), replace(ext(30, 34))],
      [ext(16, 4)],
    );
    const r = await apply(part, image);
    expect(r.running).toBe(true);
    expect(r.sha256).toBe(r.fileSha256);
    expect(r.sha256).toBe(sha(expectedImage(part, image)));
  });

  it('follows the later extents of a gathered op', async () => {
    // One REPLACE gathers three far-apart extents; the others fill the gaps in order.
    const gathered = replace(ext(0, 4), ext(20, 4), ext(40, 4));
    const part = partOf(64 * BS, [
      gathered,
      replace(ext(4, 16)),
      replace(ext(24, 8)),
      zero(ext(32, 8)),
      replace(ext(44, 20)),
    ]);
    const r = await apply(part, image);
    expect(r.running).toBe(true);
    expect(r.sha256).toBe(r.fileSha256);
    expect(r.sha256).toBe(sha(expectedImage(part, image)));
  });

  it('follows twins (a chunk plus its duplicate later in the image) and takes DONT_CARE as zeros', async () => {
    const part = partOf(
      64 * BS,
      [
        replace(ext(0, 4), ext(50, 4)),
        replace(ext(4, 6), ext(40, 2), ext(58, 6)),
        replace(ext(10, 20)),
        replace(ext(42, 8)),
        replace(ext(54, 4)),
      ],
      [ext(30, 10)],
    );
    const r = await apply(part, image);
    expect(r.running).toBe(true);
    expect(r.sha256).toBe(r.fileSha256);
    expect(r.sha256).toBe(sha(expectedImage(part, image)));
  });

  it('ops in reverse order', async () => {
    const ops = [replace(ext(0, 8)), replace(ext(8, 8)), zero(ext(16, 8)), replace(ext(24, 8)), replace(ext(40, 24))];
    const part = partOf(64 * BS, ops, [ext(32, 8)]);
    const r = await apply(part, image, [4, 3, 2, 1, 0]);
    expect(r.running).toBe(true);
    expect(r.sha256).toBe(r.fileSha256);
    expect(r.sha256).toBe(sha(expectedImage(part, image)));
  });

  it('a size that ends inside a block, written last block first', async () => {
    const size = 20 * BS - 100;
    const part = partOf(size, [replace(ext(0, 10)), replace(ext(10, 10))]);
    const r = await apply(part, image, [1, 0]);
    expect(r.running).toBe(true);
    expect(r.sha256).toBe(r.fileSha256);
    expect(r.sha256).toBe(sha(expectedImage(part, image)));
  });

  it('a planned extent never written hashes as the zeros the file holds', async () => {
    const part = partOf(32 * BS, [replace(ext(0, 8)), replace(ext(8, 8)), replace(ext(16, 16))]);
    const r = await apply(part, image, [2, 0]);
    expect(r.running).toBe(true);
    expect(r.sha256).toBe(r.fileSha256);
  });

  it('an unchanged partition written by its keep steps keeps the running hash', async () => {
    const part = partOf(40 * BS, [], [ext(10, 6)]);
    const path = join(dir, `out-${files++}.img`);
    const out = await RawOutput.open(path, part, BS, onWorker);
    try {
      for (const step of applySteps(part, BS)) await out.write(step.dst, bytesOf(image, step.dst));
      expect(out.hashRunning).toBe(true);
      const finished = await out.finish();
      expect(finished.sha256.toString('hex')).toBe(sha(await readFile(path)));
    } finally {
      await out.abort();
      await rm(path, { force: true });
    }
  });

  it('falls back to a re-read of the file for a write behind the frontier (overlapping ops)', async () => {
    const part = partOf(32 * BS, [replace(ext(0, 16)), replace(ext(8, 8)), replace(ext(16, 16))]);
    const r = await apply(part, imageBytes(32 * BS, 99));
    expect(r.running).toBe(false);
    expect(r.sha256).toBe(r.fileSha256);
  });

  it('falls back for a write ahead that is no planned extent', async () => {
    const part = partOf(32 * BS, [replace(ext(0, 16)), replace(ext(16, 16))]);
    const path = join(dir, `out-${files++}.img`);
    const out = await RawOutput.open(path, part, BS, onWorker);
    await out.write([ext(20, 4)], bytesOf(image, [ext(20, 4)]));
    expect(out.hashRunning).toBe(false);
    await out.write([ext(0, 16)], bytesOf(image, [ext(0, 16)]));
    const finished = await out.finish();
    expect(finished.sha256.toString('hex')).toBe(sha(await readFile(path)));
    await rm(path);
  });

  it('random covers with DONT_CARE gaps, gathered extents, ops in random order', async () => {
    const cover = fc
      .array(
        fc.record({
          blocks: fc.integer({ min: 1, max: 6 }),
          kind: fc.constantFrom('data', 'data', 'zero', 'dontCare'),
        }),
        {
          minLength: 1,
          maxLength: 24,
        },
      )
      .chain((runs) =>
        fc.record({
          runs: fc.constant(runs),
          groups: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: runs.length, maxLength: runs.length }),
          order: fc.shuffledSubarray([...Array(9).keys()], { minLength: 9, maxLength: 9 }),
          tailBytes: fc.integer({ min: 0, max: BS - 1 }),
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        }),
      );
    await fc.assert(
      fc.asyncProperty(cover, async ({ runs, groups, order, tailBytes, seed }) => {
        // Runs side by side cover the image exactly once; data runs are gathered into up to 8 ops.
        const byGroup: Extent[][] = [...Array(8)].map(() => []);
        const zeros: Extent[] = [];
        const dontCare: Extent[] = [];
        let at = 0;
        runs.forEach((r, i) => {
          const e = ext(at, r.blocks);
          if (r.kind === 'data') byGroup[groups[i]!]!.push(e);
          else (r.kind === 'zero' ? zeros : dontCare).push(e);
          at += r.blocks;
        });
        const blockCount = at;
        const sizeBytes = blockCount * BS - Math.min(tailBytes, BS - 1);
        const ops = byGroup.filter((g) => g.length > 0).map((g) => replace(...g));
        if (zeros.length) ops.push(zero(...zeros));
        const part = partOf(sizeBytes, ops, dontCare);
        const img = imageBytes(blockCount * BS, seed);
        const permuted = order.filter((i) => i < ops.length);
        const r = await apply(part, img, permuted);
        expect(r.running).toBe(true); // a valid cover never needs the whole-file re-read
        expect(r.sha256).toBe(r.fileSha256);
        expect(r.sha256).toBe(sha(expectedImage(part, img)));
      }),
      { numRuns: 30 },
    );
  });
});
