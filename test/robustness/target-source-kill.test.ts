// Interrupted updates whose ops read back what earlier ops wrote (format 1.6): `apply` is
// SIGKILLed at random moments with a checkpoint after every op, then `apply --resume` must give
// the new image, including runs that resume between the op writing the first copy of repeated
// content and the op reading it back: the resumed process reads blocks the killed one wrote.
// Seeded: OTA_TEST_SEED replays a failure.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages } from '../../src/index.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { repeatedContentPair } from '../helpers/repeated-content.js';
import { killAfterPartial } from '../helpers/kill-apply.js';
import { seededRng } from '../helpers/seeded-random.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/ota-build.js');
const work = mkdtempSync(join(tmpdir(), 'ota-target-kill-'));
const seed = Number(process.env.OTA_TEST_SEED ?? 5151);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const oldPath = join(work, 'old.img');
const newPath = join(work, 'new.img');
const out = join(work, 'applied.img');
const sideFiles = (prefix: string) => readdirSync(work).filter((n) => n.startsWith(prefix));
let pkg = '';
let newSha = '';
/** Ops from the first that writes the first copy to the first that reads it back. */
let window = { from: 0, to: 0 };

beforeAll(async () => {
  const pair = repeatedContentPair();
  writeFileSync(oldPath, pair.old);
  writeFileSync(newPath, pair.next);
  newSha = sha(newPath);
  const built = await buildPackages({
    oldPath,
    newPath,
    outDir: join(work, 'out'),
    targets: 'generic',
    jobs: 1,
    timestampSeconds: 1,
  });
  pkg = built.packages[0]!.path;
  const reader = await PackageReader.open(pkg);
  await reader.close();
  const ops = reader.manifest.partitions[0]!.operations;
  const firstCopy = pair.freshAtBytes / 4096;
  const from = ops.findIndex((op) =>
    op.dst.some((e) => e.startBlock <= firstCopy && e.startBlock + e.blockCount > firstCopy),
  );
  const to = ops.findIndex((op) => op.type === 'diff' && (op.targetSrc?.length ?? 0) > 0);
  expect(from, 'an op writes the first copy').toBeGreaterThanOrEqual(0);
  expect(to, 'an op reads it back').toBeGreaterThan(from);
  window = { from, to };
}, 120_000);

/**
 * Runs apply (a checkpoint after every op) and SIGKILLs it `delayMs` after the partial output
 * appears, or, with `window`, once its checkpoint says it completed an op inside it.
 */
const killDuringApply = (delayMs: number, window?: { from: number; to: number }) =>
  killAfterPartial({
    argv: [bin, 'apply', pkg, '--old', oldPath, '-o', out, '--checkpoint-every', '4096', '--resume'],
    dir: work,
    partialPrefix: '.applied.img.ota-partial-',
    delayMs,
    pollMs: 1,
    ...(window ? { until: () => inWindow(completedOps(), window) } : {}),
  });

/** Ops the checkpoint beside the output says are done (0 when there is none yet). */
function completedOps(): number {
  try {
    return JSON.parse(readFileSync(join(work, '.applied.img.ota-checkpoint'), 'utf8')).completedOps as number;
  } catch {
    return 0;
  }
}

/** A resume from `completed` ops is after the first copy was written and at or before the read-back. */
const inWindow = (completed: number, w: { from: number; to: number }) => completed > w.from && completed <= w.to;

describe('kill and resume with ops reading back', () => {
  it('SIGKILLs then --resume always give the new image, also resuming between the write and the read-back', async () => {
    const rng = seededRng(seed);
    let kills = 0;
    let between = 0;
    // Six kills at random moments, then kills aimed between the two ops (checkpoint polled).
    for (let round = 0; round < 30 && (kills < 6 || between === 0); round++) {
      rmSync(out, { force: true });
      const aimed = kills >= 6;
      if (!(await killDuringApply(aimed ? 0 : Math.floor(rng.next() * 250), aimed ? window : undefined))) kills++;
      if (existsSync(out)) expect(sha(out), `seed ${seed} round ${round}: an unverified output appeared`).toBe(newSha);
      const r = spawnSync(process.execPath, [bin, 'apply', pkg, '--old', oldPath, '-o', out, '--resume', '--json'], {
        encoding: 'utf8',
      });
      expect(r.status, `seed ${seed} round ${round}: ${r.stdout}${r.stderr}`).toBe(0);
      if (inWindow(JSON.parse(r.stdout).resumedFromOp as number, window)) between++;
      expect(sha(out), `seed ${seed} round ${round}: resumed output differs`).toBe(newSha);
      expect(sideFiles('.applied.img.ota-'), 'side files left behind after success').toEqual([]);
    }
    expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(6);
    expect(between, `seed ${seed}: no run resumed between ops ${window.from} and ${window.to}`).toBeGreaterThan(0);
  }, 300_000);
});
