// Attacks on `apply` from outside, on folders others can write to: planted symlinks and hard links
// named as the partial output, the checkpoint, the release staging folder or a staged image; a
// damaged partial; a failing move of a release into place; concurrent applies to one output. All
// through the real CLI. Each requires the old image/release and any victim file to stay unchanged.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { sectionNamed } from '../helpers/package-bytes.js';
import { BIN, EPOCH, describeRun, runCli, runCliOk } from '../helpers/run-cli.js';

const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), 'ota-resume-attacks-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** The sha256 of a package's signed metadata, as anyone can compute it (FORMAT.md: bytes before the metadata signature). */
const packageDigest = (pkg: string) => {
  const bytes = readFileSync(pkg);
  return createHash('sha256')
    .update(bytes.subarray(0, sectionNamed(bytes, 'metadataSignature').offsetBytes))
    .digest('hex');
};
/** What a folder holds: name → (inode, size, kind); proves no entry changed. */
const entries = (dir: string) =>
  readdirSync(dir)
    .sort()
    .map((n) => {
      const st = lstatSync(join(dir, n));
      return `${n}:${st.ino}:${st.size}:${st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'd'}`;
    });

// Single image: inputs/old.img (the old image) and inputs/victim.bin (someone else's file).
const inputs = join(work, 'inputs');
const oldPath = join(inputs, 'old.img');
const victim = join(inputs, 'victim.bin');
const outDir = join(work, 'outdir');
const out = join(outDir, 'new.img');
const pkg = join(work, 'pkg', 'update-generic.otapkg');
let newSha = '';
const pristineOld = syntheticImage(6 * MiB, 7);
const pristineVictim = syntheticImage(64 * 1024, 8);
/** Fresh inputs and an empty output folder before each test, so one failure does not cascade. */
function resetInputs(): void {
  rmSync(inputs, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(inputs);
  mkdirSync(outDir);
  writeFileSync(oldPath, pristineOld);
  writeFileSync(victim, pristineVictim);
}

beforeAll(() => {
  resetInputs();
  const old = pristineOld;
  const edited = applyEdits(old, [{ kind: 'random', at: 100_000, length: 300_000 }], 7);
  edited.fill(0, 2 * MiB, 4 * MiB); // ZERO ops: blocks a fresh file gets for free
  const newPath = join(work, 'new.img');
  writeFileSync(newPath, edited);
  newSha = sha(newPath);
  runCliOk(['build', '--old', oldPath, '--new', newPath, '-o', join(work, 'pkg'), '--target', 'generic']);
}, 120_000);

/** A checkpoint claiming 0 completed ops for `partialName`: every field is public. */
function forgeCheckpoint(partialName: string): void {
  const cp = {
    version: 2,
    packageDigest: packageDigest(pkg),
    oldSha256: sha(oldPath),
    partialName,
    completedOps: 0,
    bytesWritten: 0,
    chain: '0'.repeat(64),
  };
  writeFileSync(join(outDir, '.new.img.ota-checkpoint'), JSON.stringify(cp));
}

function applyResume(): ReturnType<typeof runCli> {
  return runCli(['apply', pkg, '--old', oldPath, '-o', out, '--resume'], { timeoutMs: 60_000 });
}

describe('item 1: apply --resume never writes through a planted link', () => {
  for (const [label, plant] of [
    ['a hard link to the old image', (p: string) => linkSync(oldPath, p)],
    ['a hard link to a victim file', (p: string) => linkSync(victim, p)],
    ['a symlink to the old image', (p: string) => symlinkSync(oldPath, p)],
    ['a symlink to a victim file', (p: string) => symlinkSync(victim, p)],
  ] as const) {
    it(`a partial that is ${label} is discarded, not written`, () => {
      resetInputs();
      const [oldBefore, victimBefore, listing] = [sha(oldPath), sha(victim), entries(inputs)];
      const name = '.new.img.ota-partial-00112233445566ff';
      plant(join(outDir, name));
      forgeCheckpoint(name);
      const r = applyResume();
      expect(r.status, describeRun(r)).toBe(0);
      expect(r.stderr).toMatch(/RESUME_RESTART.*not ours/);
      expect(sha(oldPath), 'the old image changed').toBe(oldBefore);
      expect(sha(victim), 'the victim file changed').toBe(victimBefore);
      expect(entries(inputs), 'an input directory entry changed').toEqual(listing);
      expect(sha(out)).toBe(newSha);
      expect(readdirSync(outDir), 'the planted name is removed').toEqual(['new.img']);
    });
  }
});

describe('item 3: the checkpoint is read with O_NOFOLLOW and a size cap', () => {
  it('a checkpoint that is a symlink to a FIFO neither blocks nor is trusted', () => {
    resetInputs();
    const fifo = join(inputs, 'fifo');
    spawnSync('mkfifo', [fifo]);
    symlinkSync(fifo, join(outDir, '.new.img.ota-checkpoint'));
    const r = runCli(['apply', pkg, '--old', oldPath, '-o', out, '--resume'], { timeoutMs: 20_000 });
    rmSync(fifo);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stderr).toMatch(/RESUME_RESTART.*checkpoint is not ours: it is a symlink/);
    expect(sha(out)).toBe(newSha);
  });

  it('a hard-linked checkpoint (another file) is not trusted and the file is left alone', () => {
    resetInputs();
    const name = '.new.img.ota-partial-0011223344556677';
    writeFileSync(join(outDir, name), Buffer.alloc(4096, 0xee));
    forgeCheckpoint(name);
    const elsewhere = join(inputs, 'kept-checkpoint');
    linkSync(join(outDir, '.new.img.ota-checkpoint'), elsewhere);
    const before = sha(elsewhere);
    const r = applyResume();
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stderr).toMatch(/RESUME_RESTART.*2 links/);
    expect(sha(elsewhere)).toBe(before);
    expect(sha(out)).toBe(newSha);
    rmSync(elsewhere);
  });
});

describe('item 12: resume does not trust blocks the completed ops did not write', () => {
  it('garbage where ZERO ops go is overwritten, and the output is right', () => {
    resetInputs();
    const name = '.new.img.ota-partial-00aa00aa00aa00aa';
    writeFileSync(join(outDir, name), Buffer.alloc(6 * MiB, 0xee));
    forgeCheckpoint(name);
    const r = applyResume();
    expect(r.status, describeRun(r)).toBe(0);
    expect(sha(out)).toBe(newSha);
    expect(readdirSync(outDir)).toEqual(['new.img']);
  });
});

describe('item 13: one apply at a time per output', () => {
  it('6 concurrent applies to one output: each succeeds or says OUTPUT_BUSY; never exit 5; the output is right', async () => {
    resetInputs();
    const statuses: number[] = [];
    for (let round = 0; round < 3; round++) {
      rmSync(out, { force: true });
      const runs = Array.from({ length: 6 }, () => {
        const child = spawn(process.execPath, [BIN, 'apply', pkg, '--old', oldPath, '-o', out, '--json'], {
          env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH },
        });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += String(d)));
        child.stdout.on('data', (d) => (stderr += String(d)));
        return new Promise<{ code: number | null; stderr: string }>((resolve) =>
          child.on('exit', (code) => resolve({ code, stderr })),
        );
      });
      for (const r of await Promise.all(runs)) {
        statuses.push(r.code ?? -1);
        if (r.code !== 0) {
          expect(r.code, r.stderr).toBe(8);
          expect(r.stderr).toMatch(/OUTPUT_BUSY/);
        }
      }
      expect(sha(out), `round ${round}`).toBe(newSha);
      expect(readdirSync(outDir), `round ${round}: side files left`).toEqual(['new.img']);
    }
    expect(statuses.filter((s) => s === 0).length).toBeGreaterThan(0);
  }, 300_000);

  it('a lock held by a live process refuses; a stale one (dead pid) is taken over', () => {
    resetInputs();
    const lock = join(outDir, '.new.img.ota-lock');
    writeFileSync(lock, `${process.pid}\n`);
    const busy = applyResume();
    expect(busy.status, describeRun(busy)).toBe(8);
    expect(busy.stderr).toMatch(/OUTPUT_BUSY/);
    expect(existsSync(out)).toBe(false);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(lock, `${dead.stdout}\n`);
    const r = applyResume();
    expect(r.status, describeRun(r)).toBe(0);
    expect(sha(out)).toBe(newSha);
    expect(readdirSync(outDir)).toEqual(['new.img']);
  });
});

// Releases: v1 (the old release), v2 (the new one), a package between them.
const v1 = join(work, 'v1');
const v2 = join(work, 'v2');
const rpkg = join(work, 'rpkg', 'update-generic.otapkg');
const rout = join(work, 'rout');
const staging = () => join(rout, `.ota-staging-${packageDigest(rpkg).slice(0, 16)}`);
const releaseShas = (dir: string) => Object.fromEntries(readdirSync(dir).map((n) => [n, sha(join(dir, n))]));

const system = syntheticImage(24 * MiB, 11);
const boot = syntheticImage(256 * 1024, 12);
/** A fresh old release and no output folder before each test, so one failure does not cascade. */
function resetV1(): void {
  rmSync(v1, { recursive: true, force: true });
  rmSync(rout, { recursive: true, force: true });
  mkdirSync(v1);
  mkdirSync(rout);
  writeFileSync(join(v1, 'system.img'), system);
  writeFileSync(join(v1, 'boot.img'), boot);
}

describe('releases', () => {
  beforeAll(() => {
    resetV1();
    mkdirSync(v2);
    writeFileSync(join(v2, 'system.img'), applyEdits(system, [{ kind: 'random', at: 5 * MiB, length: 9 * MiB }], 11));
    writeFileSync(join(v2, 'boot.img'), applyEdits(boot, [{ kind: 'random', at: 1000, length: 5000 }], 12));
    writeFileSync(join(v2, 'zzz.img'), syntheticImage(64 * 1024, 13)); // new partition, last in name order
    runCliOk(['build', '--old', v1, '--new', v2, '-o', join(work, 'rpkg'), '--target', 'generic']);
  }, 180_000);

  const applyRelease = (resume: boolean) =>
    runCli(['apply', rpkg, '--old', v1, '-o', rout, ...(resume ? ['--resume'] : [])], { timeoutMs: 120_000 });

  it('item 2: a staging folder that is a symlink to the old release is discarded, never followed', () => {
    resetV1();
    const [before, listing] = [releaseShas(v1), entries(v1)];
    symlinkSync(v1, staging());
    const r = applyRelease(true);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stderr).toMatch(/RESUME_RESTART.*staging folder.*symlink/);
    expect(releaseShas(v1), 'the old release changed').toEqual(before);
    expect(entries(v1), 'the old release lost or gained files').toEqual(listing);
    expect(releaseShas(rout)).toEqual(releaseShas(v2));
  }, 120_000);

  it('item 2: a staged image that is a symlink to a file someone else keeps is not moved into the output', () => {
    resetV1();
    mkdirSync(staging(), { mode: 0o700 });
    const kept = join(inputs, 'someone-elses-boot.img');
    writeFileSync(kept, readFileSync(join(v2, 'boot.img'))); // hashes to the target: a hash check alone passes it
    symlinkSync(kept, join(staging(), 'boot.img'));
    const before = sha(kept);
    const r = applyRelease(true);
    expect(r.status, describeRun(r)).toBe(0);
    expect(lstatSync(join(rout, 'boot.img')).isFile(), 'boot.img in the output is a symlink').toBe(true);
    expect(sha(kept)).toBe(before);
    expect(existsSync(kept)).toBe(true);
    expect(releaseShas(rout)).toEqual(releaseShas(v2));
  }, 120_000);

  it('item 2: a staging folder others can write to (mode 0777) is discarded', () => {
    resetV1();
    mkdirSync(staging());
    chmodSync(staging(), 0o777);
    writeFileSync(join(staging(), 'boot.img'), readFileSync(join(v2, 'boot.img')));
    const r = applyRelease(true);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stderr).toMatch(/RESUME_RESTART.*mode is 777/);
    expect(releaseShas(rout)).toEqual(releaseShas(v2));
  }, 120_000);

  it('item 6: a partition that cannot be moved in leaves the output folder as it was, and --resume finishes', async () => {
    resetV1();
    for (const n of ['boot.img', 'system.img']) writeFileSync(join(rout, n), readFileSync(join(v1, n)));
    const previous = releaseShas(rout);
    const child = spawn(process.execPath, [BIN, 'apply', rpkg, '--old', v1, '-o', rout], {
      env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Once the run is past its checks and staging, a non-empty folder appears where zzz.img goes.
    while (!existsSync(staging()) && child.exitCode === null) await new Promise((r) => setTimeout(r, 1));
    mkdirSync(join(rout, 'zzz.img'));
    writeFileSync(join(rout, 'zzz.img', 'keep'), 'someone else');
    const code = await exited;
    expect(code, stderr).toBe(8);
    expect(stderr).toMatch(/RELEASE_NOT_MOVED/);
    expect(stderr).toMatch(/as it was|nothing was moved/);
    expect(
      { boot: sha(join(rout, 'boot.img')), system: sha(join(rout, 'system.img')) },
      'a mix of new and previous',
    ).toEqual({
      boot: previous['boot.img'],
      system: previous['system.img'],
    });
    expect(existsSync(staging()), 'the staging folder is gone').toBe(true);
    rmSync(join(rout, 'zzz.img'), { recursive: true });
    const r = applyRelease(true);
    expect(r.status, describeRun(r)).toBe(0);
    expect(releaseShas(rout)).toEqual(releaseShas(v2));
  }, 180_000);
});
