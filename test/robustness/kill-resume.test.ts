// Interrupted updates: `apply` on a 64 MiB pair is SIGKILLed at ≥ 20 random moments (with
// checkpoints every op, so kills land inside checkpoint writes, and every 8 MiB, so they land
// inside blob writes), then `apply --resume` must produce the byte-identical new image, and the
// old image's sha256 must never change. The new image repeats changed content far away, so one op
// writes out of destination order. Seeded: OTA_TEST_SEED replays a failure.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackageReader } from '../../src/package/package-reader.js';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { killAfterPartial } from '../helpers/kill-apply.js';
import { seededRng } from '../helpers/seeded-random.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/ota-build.js');
const work = mkdtempSync(join(tmpdir(), 'ota-kill-'));
const seed = Number(process.env.OTA_TEST_SEED ?? 4242);
const MiB = 1024 * 1024;
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const oldPath = join(work, 'old.img');
const newPath = join(work, 'new.img');
const pkg = join(work, 'out', 'update-generic.otapkg');
const out = join(work, 'applied.img');
let oldSha = '';
let newSha = '';
/** Side files of `out` whose names start with `prefix` (partials and checkpoint temps carry random suffixes). */
const sideFiles = (prefix: string) => readdirSync(work).filter((n) => n.startsWith(prefix));

beforeAll(async () => {
  const old = syntheticImage(64 * MiB, seed);
  writeFileSync(oldPath, old);
  const edits = Array.from({ length: 40 }, (_, i) => ({
    kind: 'random' as const,
    at: (i * 1.6 * MiB) | 0,
    length: 200_000,
  }));
  const next = applyEdits(old, [...edits, { kind: 'insert', at: 3 * MiB, length: 777 }], seed);
  // A copy of changed content far away (a file in two folders): its op writes out of
  // destination order (planner/gather-twins.ts), so kills also land between such writes.
  next.copy(next, 50 * MiB + 512 * 1024, 8 * MiB, 8 * MiB + 256 * 1024);
  writeFileSync(newPath, next);
  oldSha = sha(oldPath);
  newSha = sha(newPath);
  const r = spawnSync(
    process.execPath,
    [
      bin,
      'build',
      '--old',
      oldPath,
      '--new',
      newPath,
      '-o',
      join(work, 'out'),
      '--target',
      'generic',
      '--codec',
      'zstd',
      '--level',
      '3',
      // bsdiff-lzma builds this pair in a third of zstd-dict's time (level 19); apply takes about
      // as long (1.4 s against 1.2 s here), so as many random kills land before it finishes.
      '--differ',
      'bsdiff-lzma',
    ],
    { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1' } },
  );
  expect(r.status, r.stderr).toBe(0);
  const reader = await PackageReader.open(pkg);
  try {
    const far = reader.manifest.partitions[0]!.operations.some((op) =>
      op.dst.some((e, i) => i > 0 && e.startBlock - op.dst[i - 1]!.startBlock > (16 * MiB) / 4096),
    );
    expect(far, 'the package has an op that writes the far copy').toBe(true);
  } finally {
    await reader.close();
  }
}, 300_000);

/** Runs apply and SIGKILLs it `delayMs` after the partial output appears; returns what was on disk then. */
async function killDuringApply(
  delayMs: number,
  checkpointEvery: number,
): Promise<{ finished: boolean; inCheckpointWrite: boolean }> {
  let inCheckpointWrite = false;
  const finished = await killAfterPartial({
    argv: [bin, 'apply', pkg, '--old', oldPath, '-o', out, '--checkpoint-every', String(checkpointEvery), '--resume'],
    dir: work,
    partialPrefix: '.applied.img.ota-partial-',
    delayMs,
    atKill: () => (inCheckpointWrite = sideFiles('.applied.img.ota-checkpoint.tmp-').length > 0),
  });
  return { finished, inCheckpointWrite };
}

describe('kill and resume', () => {
  it('≥ 20 SIGKILLs during apply, each followed by --resume, always give the new image', async () => {
    const rng = seededRng(seed);
    let kills = 0;
    let checkpointKills = 0;
    let resumedRuns = 0;
    for (let round = 0; kills < 20 && round < 40; round++) {
      rmSync(out, { force: true });
      const every = round % 2 === 0 ? 4096 : 8 * MiB;
      const { finished, inCheckpointWrite } = await killDuringApply(Math.floor(rng.next() * 900), every);
      if (!finished) kills++;
      if (inCheckpointWrite) checkpointKills++;
      expect(sha(oldPath), `seed ${seed} round ${round}: old image changed`).toBe(oldSha);
      // The output may exist only if it is complete and verified (killed after the rename).
      if (existsSync(out)) expect(sha(out), `seed ${seed} round ${round}: an unverified output appeared`).toBe(newSha);
      const r = spawnSync(process.execPath, [bin, 'apply', pkg, '--old', oldPath, '-o', out, '--resume', '--json'], {
        encoding: 'utf8',
      });
      expect(r.status, `seed ${seed} round ${round}: ${r.stdout}${r.stderr}`).toBe(0);
      if (JSON.parse(r.stdout).resumedFromOp > 0) resumedRuns++;
      expect(sha(out), `seed ${seed} round ${round}: resumed output differs`).toBe(newSha);
      expect(sha(oldPath)).toBe(oldSha);
      expect(existsSync(join(work, '.applied.img.ota-checkpoint')), 'checkpoint left behind after success').toBe(false);
      expect(sideFiles('.applied.img.ota-'), 'side files left behind after success').toEqual([]);
    }
    expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(20);
    expect(resumedRuns, `seed ${seed}: no run actually resumed from a checkpoint`).toBeGreaterThan(0);
    console.log(
      `kill/resume seed ${seed}: ${kills} kills, ${checkpointKills} inside a checkpoint write, ${resumedRuns} resumed from a checkpoint`,
    );
  }, 600_000);

  it('Ctrl-C (SIGINT) says how to go on, and --resume then continues from the checkpoint', async () => {
    rmSync(out, { force: true });
    let ended = { code: null as number | null, signal: null as NodeJS.Signals | null, stderr: '' };
    const finished = await killAfterPartial({
      argv: [bin, 'apply', pkg, '--old', oldPath, '-o', out, '--checkpoint-every', '4096'],
      dir: work,
      partialPrefix: '.applied.img.ota-partial-',
      delayMs: 0,
      // once a checkpoint names some ops, so the resume below has something to continue from
      until: () => existsSync(join(work, '.applied.img.ota-checkpoint')),
      signal: 'SIGINT',
      ended: (how) => (ended = how),
    });
    expect(finished, 'the apply ended before the interrupt').toBe(false);
    // It ends by the signal itself, as without the hint (a shell sees 130).
    expect(ended.signal).toBe('SIGINT');
    expect(ended.stderr).toMatch(
      /^ota-build: interrupted: the output is not replaced yet; its partial file and last checkpoint are kept: run the same command with --resume /m,
    );
    expect(existsSync(out)).toBe(false);
    // The partial file and checkpoint stay for --resume; the lock goes with the interrupted apply.
    expect(readdirSync(work).filter((n) => n.startsWith('.applied.img.ota-lock'))).toEqual([]);
    expect(readdirSync(work).some((n) => n.startsWith('.applied.img.ota-partial-'))).toBe(true);
    const r = spawnSync(process.execPath, [bin, 'apply', pkg, '--old', oldPath, '-o', out, '--resume', '--json'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).resumedFromOp).toBeGreaterThan(0);
    expect(sha(out)).toBe(newSha);
    expect(sha(oldPath)).toBe(oldSha);
  });

  it('Ctrl-C before any checkpoint says to run the same command again (no --resume, which would restart); --json says it on stdout too', async () => {
    rmSync(out, { force: true });
    let ended = { stdout: '', stderr: '' };
    await killAfterPartial({
      argv: [bin, 'apply', pkg, '--old', oldPath, '-o', out, '--checkpoint-every', String(2 ** 40), '--json'],
      dir: work,
      partialPrefix: '.applied.img.ota-partial-',
      delayMs: 0,
      signal: 'SIGINT',
      ended: (how) => (ended = how),
    });
    const message = 'the output is not replaced yet, and no checkpoint was written: run the same command again';
    expect(ended.stderr).toMatch(new RegExp(`^ota-build: interrupted: ${message}$`, 'm'));
    expect(JSON.parse(ended.stdout)).toEqual({ interrupted: { message } });
    expect(existsSync(out)).toBe(false);
  });

  it('a corrupt or foreign checkpoint restarts from zero with a warning, and still gives the new image', () => {
    rmSync(out, { force: true });
    writeFileSync(join(work, '.applied.img.ota-checkpoint'), '{"version":2,"garbage":true}');
    writeFileSync(join(work, '.applied.img.ota-partial-00000000000000ee'), Buffer.alloc(4096, 0xee));
    const r = spawnSync(process.execPath, [bin, 'apply', pkg, '--old', oldPath, '-o', out, '--resume'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/RESUME_RESTART.*malformed/);
    expect(sha(out)).toBe(newSha);
    expect(sideFiles('.applied.img.ota-'), 'the stale partial is cleaned up').toEqual([]);
    // A checkpoint whose partial output was tampered with is not trusted either.
    rmSync(out);
  });

  it('a partial output that no longer matches its checkpoint is re-verified, rejected and rebuilt', async () => {
    rmSync(out, { force: true });
    const child = spawn(
      process.execPath,
      [bin, 'apply', pkg, '--old', oldPath, '-o', out, '--checkpoint-every', '4096'],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const checkpoint = join(work, '.applied.img.ota-checkpoint');
    while (!existsSync(checkpoint) && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(checkpoint), 'the apply finished before a checkpoint could be tampered with').toBe(true);
    const partial = join(work, JSON.parse(readFileSync(checkpoint, 'utf8')).partialName);
    const bytes = readFileSync(partial);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(partial, bytes);
    const r = spawnSync(process.execPath, [bin, 'apply', pkg, '--old', oldPath, '-o', out, '--resume'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/RESUME_RESTART.*does not match the checkpoint/);
    expect(sha(out)).toBe(newSha);
  });
});
