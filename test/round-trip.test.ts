// Round-trip property: apply(build(old, new), old) == new over seeded random edits (inserts that
// shift data, deletes, moves, zero runs, fills, random overwrites), for delta and full packages.

import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPackage, buildPackages } from '../src/index.js';
import { applyEdits, syntheticImage, type Edit } from './helpers/edit-images.js';

const dir = mkdtempSync(join(tmpdir(), 'ota-roundtrip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const editArb = (size: number): fc.Arbitrary<Edit> =>
  fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(size), length: fc.integer({ min: 1, max: 20000 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(size), length: fc.integer({ min: 1, max: 20000 }) }),
    fc.record({
      kind: fc.constant('move' as const),
      from: fc.nat(size),
      to: fc.nat(size),
      length: fc.integer({ min: 1, max: 60000 }),
    }),
    fc.record({ kind: fc.constant('zero' as const), at: fc.nat(size), length: fc.integer({ min: 1, max: 40000 }) }),
    fc.record({
      kind: fc.constant('fill' as const),
      at: fc.nat(size),
      length: fc.integer({ min: 1, max: 40000 }),
      byte: fc.integer({ min: 1, max: 255 }),
    }),
    fc.record({ kind: fc.constant('random' as const), at: fc.nat(size), length: fc.integer({ min: 1, max: 8000 }) }),
  );

let caseNo = 0;
async function roundTrip(old: Buffer, next: Buffer, delta: boolean): Promise<void> {
  const n = caseNo++;
  const oldPath = join(dir, `old-${n}.img`);
  const newPath = join(dir, `new-${n}.img`);
  writeFileSync(oldPath, old);
  writeFileSync(newPath, next);
  const built = await buildPackages({
    oldPath: delta ? oldPath : undefined,
    newPath,
    outDir: join(dir, `out-${n}`),
    targets: 'generic',
    jobs: 1,
    timestampSeconds: 1,
  });
  const out = join(dir, `applied-${n}.img`);
  await applyPackage({ packagePath: built.packages[0]!.path, oldPath, outputPath: out });
  expect(readFileSync(out).equals(next)).toBe(true);
  rmSync(join(dir, `out-${n}`), { recursive: true });
  for (const p of [oldPath, newPath, out]) rmSync(p);
}

describe('round trip over random edits', () => {
  it('apply(build(old, new), old) == new (seeded; fast-check prints the seed on failure)', async () => {
    const size = 192 * 1024;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(editArb(size), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (seed, edits, keepSize) => {
          const old = syntheticImage(size, seed);
          await roundTrip(old, applyEdits(old, edits, seed, keepSize), true);
        },
      ),
      { numRuns: 60, seed: Number(process.env.ROUNDTRIP_SEED ?? 20261124) },
    );
  });

  it('handles sizes that are not a block multiple, grown and shrunk images', async () => {
    const old = syntheticImage(100_001, 7);
    await roundTrip(old, Buffer.concat([old.subarray(0, 50_000), syntheticImage(70_123, 8)]), true);
    await roundTrip(old, old.subarray(0, 4097), true);
    await roundTrip(old.subarray(0, 5000), syntheticImage(300_000, 9), true);
  });

  it('full packages (no old image) round-trip too', async () => {
    const next = syntheticImage(150_000, 11);
    next.fill(0, 20_000, 90_000);
    await roundTrip(Buffer.alloc(0), next, false);
  });

  it('identical images give a package of copies only', async () => {
    const img = syntheticImage(64 * 1024, 3);
    const oldPath = join(dir, 'same.img');
    writeFileSync(oldPath, img);
    const built = await buildPackages({
      oldPath,
      newPath: oldPath,
      outDir: join(dir, 'same'),
      targets: 'generic',
      jobs: 1,
      timestampSeconds: 1,
    });
    expect(Object.keys(built.packages[0]!.operationCounts).sort()).toEqual(expect.arrayContaining(['copy']));
    expect(built.packages[0]!.operationCounts.replace ?? 0).toBe(0);
    expect(built.packages[0]!.operationCounts.diff ?? 0).toBe(0);
  });
});
