// In-place packages end to end through the real CLI: build --update-mode in-place from a pair with
// heavy block movement, apply --in-place (and again: already done), verify --old (simulated on a
// temp copy), inspect; the four unsafe orders as validly signed packages (mutated manifests,
// signed again) refused with exit 4 before any write; a damaged block no op has touched refused
// with exit 5 before any write; Ctrl-C part-way and its hint; option clashes; a loop device where
// the machine allows one.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
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
import type { Manifest } from '../../src/model/manifest.js';
import type { Operation } from '../../src/model/operation.js';
import type { TargetHeader } from '../../src/model/target-header.js';
import { BlobSpool } from '../../src/package/blob-spool.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { writePackage } from '../../src/package/package-writer.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { testPrivateKeyPath } from '../../src/signing/test-keys.js';
import { syntheticImage } from '../helpers/edit-images.js';
import { sectionNamed, sha256Hex } from '../helpers/package-bytes.js';
import { jsonOf, ROOT, runCli, runCliOk, type CliRun } from '../helpers/run-cli.js';
import { shuffledBlocks } from '../helpers/shuffled-blocks.js';

const work = mkdtempSync(join(tmpdir(), 'ota-in-place-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const BS = 4096;

function expectError(r: CliRun, status: number, code: string): void {
  expect(r.status, `${r.argv}\n${r.stderr}`).toBe(status);
  expect(r.stderr).toContain(code);
}

const oldPath = join(work, 'old.img');
const newPath = join(work, 'new.img');
let pkg = '';
let newSha = '';

beforeAll(() => {
  const old = syntheticImage(2 * 1024 * 1024, 7);
  writeFileSync(oldPath, old);
  const next = shuffledBlocks(old, 7);
  writeFileSync(newPath, next);
  newSha = sha256Hex(next);
  const r = runCliOk([
    'build',
    '--old',
    oldPath,
    '--new',
    newPath,
    '-o',
    join(work, 'out'),
    '--target',
    'generic',
    '--update-mode',
    'in-place',
    '--jobs',
    '1',
    '--json',
  ]);
  const built = JSON.parse(r.stdout).packages[0];
  expect(built.inPlace.peakStashBytes).toBeGreaterThan(0);
  expect(built.inPlace.peakStashBytes).toBeLessThanOrEqual(128 * 1024 * 1024);
  pkg = built.path;
});

/** A fresh copy of the old image to update in place. */
function copyOfOld(name: string): string {
  const p = join(work, name);
  copyFileSync(oldPath, p);
  return p;
}

describe('apply --in-place', () => {
  it('rewrites a copy of the old image into the new one, removes the stash folder, and a re-run finds it done', () => {
    const img = copyOfOld('round-trip.img');
    const stash = join(work, 'stash-rt');
    const r = JSON.parse(runCliOk(['apply', pkg, '--in-place', img, '--stash-dir', stash, '--json']).stdout);
    expect(sha256Hex(readFileSync(img))).toBe(newSha);
    expect(r).toMatchObject({ kind: 'in-place', start: 'base', sha256: newSha, stashFolderRemoved: true });
    expect(r.stashFilesWritten).toBeGreaterThan(0);
    expect(existsSync(stash)).toBe(false);
    const again = JSON.parse(runCliOk(['apply', pkg, '--in-place', img, '--stash-dir', stash, '--json']).stdout);
    expect(again).toMatchObject({ start: 'done', opsRun: 0 });
  });

  it('Ctrl-C part-way says the image is part-way updated and to run the same command again, which finishes it', async () => {
    const img = copyOfOld('interrupted.img');
    const stash = join(work, 'stash-interrupted');
    const argv = ['apply', pkg, '--in-place', img, '--stash-dir', stash];
    const child = spawn(process.execPath, [join(ROOT, 'bin/ota-build.js'), ...argv], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_code, signal) => resolve(signal)),
    );
    // The stash folder exists from before the first write until the apply is done: stop the
    // process there (so it cannot finish in between), interrupt it, and let it run on.
    const started = Date.now();
    while (!existsSync(stash) && child.exitCode === null && Date.now() - started < 20_000)
      await new Promise((r) => setTimeout(r, 1));
    child.kill('SIGSTOP');
    const caught = existsSync(stash);
    child.kill('SIGINT');
    child.kill('SIGCONT');
    const signal = await ended;
    expect(caught, 'the apply ended before the interrupt').toBe(true);
    expect(signal).toBe('SIGINT');
    expect(stderr).toMatch(
      /^ota-build: interrupted: the image is part-way updated: run the same command again to finish it \(do not use the image before\)$/m,
    );
    const again = JSON.parse(runCliOk([...argv, '--json']).stdout);
    expect(again.sha256).toBe(newSha);
    expect(sha256Hex(readFileSync(img))).toBe(newSha);
  });

  it('an image left part-way whose stash folder was emptied: WRONG_BASE naming the stash file it needs, nothing written', async () => {
    // Two regions swapped: one is stashed, overwritten by the other, then written from the stash.
    const dir = join(work, 'swap');
    mkdirSync(dir);
    const old = syntheticImage(256 * BS, 0x5a);
    const next = Buffer.from(old);
    old.copy(next, 16 * BS, 128 * BS, 160 * BS);
    old.copy(next, 128 * BS, 16 * BS, 48 * BS);
    writeFileSync(join(dir, 'old.img'), old);
    writeFileSync(join(dir, 'new.img'), next);
    const args = ['--old', join(dir, 'old.img'), '--new', join(dir, 'new.img'), '-o', join(dir, 'out')];
    const built = jsonOf(runCliOk(['build', ...args, '--target', 'generic', '--update-mode', 'in-place', '--json']));
    const swapPkg = built.packages[0].path as string;
    const reader = await PackageReader.open(swapPkg);
    const ops = reader.manifest.partitions[0]!.operations;
    await reader.close();
    // The state once the first op that overwrites a stash still to be read is done (every op up
    // to it wrote its new blocks), its stash folder then emptied by hand.
    const blocksOf = (extents: readonly { startBlock: number; blockCount: number }[]) =>
      extents.flatMap((e) => Array.from({ length: e.blockCount }, (_, i) => e.startBlock + i));
    const live = new Map<number, Set<number>>();
    let doneThrough = -1;
    for (const [i, op] of ops.entries()) {
      if (op.type === 'stash') live.set(op.stashId, new Set(blocksOf(op.src)));
      else if (op.type === 'free') live.delete(op.stashId);
      else if (blocksOf(op.dst).some((b) => [...live.values()].some((blocks) => blocks.has(b)))) {
        doneThrough = i;
        break;
      }
    }
    expect(doneThrough, 'an op overwrites a stash a later op reads').toBeGreaterThan(0);
    const img = join(dir, 'image.img');
    const image = Buffer.from(old);
    for (const op of ops.slice(0, doneThrough + 1))
      if (op.type !== 'stash' && op.type !== 'free')
        for (const b of blocksOf(op.dst)) next.copy(image, b * BS, b * BS, (b + 1) * BS);
    writeFileSync(img, image);
    const r = runCli(['apply', swapPkg, '--in-place', img, '--stash-dir', join(dir, 'stash')]);
    expectError(r, 5, 'WRONG_BASE');
    expect(r.stderr).toMatch(
      /op \d+ \(copy\): it is not done and needs stash \d+, which .*swap\/stash\/stash-\d+ does not hold \(missing or damaged\) and the image no longer does; nothing was written/,
    );
    expect(readFileSync(img).equals(image)).toBe(true);
  });

  it('a full package (no base to check) starts from the image as it was, not "resumed from an interrupted run"', () => {
    const out = join(work, 'full-in-place');
    runCliOk(['build', '--new', newPath, '-o', out, '--target', 'generic', '--update-mode', 'in-place', '--jobs', '1']);
    const full = join(out, 'update-generic.otapkg');
    const img = copyOfOld('full-in-place.img');
    const argv = ['apply', full, '--in-place', img, '--stash-dir', join(work, 'stash-full')];
    const first = runCliOk(argv);
    expect(first.stdout).toContain('from the image as it was (a full package needs no base)');
    expect(first.stdout).not.toContain('interrupted');
    expect(sha256Hex(readFileSync(img))).toBe(newSha);
    expect(JSON.parse(runCliOk([...argv, '--json']).stdout)).toMatchObject({ start: 'done', opsRun: 0 });
    copyFileSync(oldPath, img);
    expect(JSON.parse(runCliOk([...argv, '--json']).stdout)).toMatchObject({ start: 'full', sha256: newSha });
  });

  it('a device whose stash limit is under the peak refuses it (exit 7), and verify says so as the device would', () => {
    const profile = JSON.parse(readFileSync(join(ROOT, 'profiles', 'generic.json'), 'utf8'));
    const path = join(work, 'small-stash.json');
    writeFileSync(path, JSON.stringify({ ...profile, id: 'small-stash', maxStashBytes: BS }));
    const img = copyOfOld('small-stash.img');
    for (const argv of [
      [
        'apply',
        pkg,
        '--in-place',
        img,
        '--stash-dir',
        join(work, 'stash-small'),
        '--device-profile',
        path,
        '--device-target',
        'generic',
      ],
      ['verify', pkg, '--device-profile', path, '--device-target', 'generic'],
      ['verify', pkg, '--device-profile', path, '--device-target', 'generic', '--metadata-only'],
    ]) {
      const r = runCli(argv);
      expect(r.status, `${argv[0]}: ${r.stderr}`).toBe(7);
      expect(r.stderr).toMatch(/DEVICE_LIMIT_EXCEEDED.*stash peaks at \d+ bytes, over the device's 4096/);
    }
    expect(readFileSync(img).equals(readFileSync(oldPath))).toBe(true);
    const ok = JSON.parse(runCliOk(['verify', pkg, '--json']).stdout);
    const limits = ok.checks.find((c: { id: string }) => c.id === 'device-limits');
    expect(limits.stashPeakBytes).toBeGreaterThan(0);
    expect(limits.text).toBe(
      `every op and its ${limits.stashPeakBytes}-byte stash peak within the generic device profile's limits`,
    );
  });

  it('with no stash allowed (a profile with maxStashBytes 0) cycles are broken without stashing, and it still applies', () => {
    const profile = JSON.parse(readFileSync(join(ROOT, 'profiles', 'generic.json'), 'utf8'));
    const path = join(work, 'no-stash.json');
    writeFileSync(path, JSON.stringify({ ...profile, id: 'no-stash', maxStashBytes: 0 }));
    const out = join(work, 'no-stash');
    const built = JSON.parse(
      runCliOk([
        'build',
        '--old',
        oldPath,
        '--new',
        newPath,
        '-o',
        out,
        '--target',
        path,
        '--update-mode',
        'in-place',
        '--jobs',
        '1',
        '--json',
      ]).stdout,
    ).packages[0];
    expect(built.inPlace).toMatchObject({ peakStashBytes: 0, stashOps: 0 });
    expect(built.operationCounts.stash).toBeUndefined();
    const inspected = JSON.parse(runCliOk(['inspect', built.path, '--json']).stdout).partitions[0].inPlace;
    expect(inspected).toEqual({
      peakStashBytes: 0,
      stashOps: 0,
      convertedReplaceOps: built.inPlace.convertedReplaceOps,
    });
    const img = copyOfOld('no-stash.img');
    runCliOk([
      'apply',
      built.path,
      '--in-place',
      img,
      '--stash-dir',
      join(work, 'stash-none'),
      '--device-profile',
      path,
    ]);
    expect(sha256Hex(readFileSync(img))).toBe(newSha);
  });

  it('verify --old simulates the in-place apply; inspect reports the stash peak and conversions', () => {
    const v = runCliOk(['verify', pkg, '--old', oldPath]);
    expect(v.stdout).toContain('applied in place to a temp copy');
    expectError(runCli(['verify', pkg, '--old', newPath]), 5, 'WRONG_BASE');
    const i = JSON.parse(runCliOk(['inspect', pkg, '--json']).stdout);
    expect(i.formatVersion).toBe('1.3');
    expect(i.target.updateMode).toBe('in-place');
    expect(i.partitions[0].inPlace.peakStashBytes).toBeGreaterThan(0);
    expect(i.partitions[0].inPlace).toHaveProperty('convertedReplaceOps');
    expect(runCliOk(['inspect', pkg]).stdout).toMatch(/in-place: stash peak .* ops turned into REPLACE/);
  });

  it('an A/B package or -o with --in-place is refused (exit 2), and an in-place package still applies A/B style', () => {
    const img = copyOfOld('clash.img');
    runCliOk([
      'build',
      '--old',
      oldPath,
      '--new',
      newPath,
      '-o',
      join(work, 'ab'),
      '--target',
      'generic',
      '--jobs',
      '1',
    ]);
    const ab = join(work, 'ab', 'update-generic.otapkg');
    expectError(runCli(['apply', ab, '--in-place', img, '--stash-dir', join(work, 's1')]), 2, 'NOT_IN_PLACE_PACKAGE');
    expectError(
      runCli(['apply', pkg, '--in-place', img, '--stash-dir', join(work, 's1'), '-o', join(work, 'x.img')]),
      2,
      'BAD_OPTION',
    );
    expectError(runCli(['apply', pkg, '--in-place', img]), 2, 'BAD_OPTION');
    // No checkpoint is kept in place (a re-run checks the image op by op): not silently ignored.
    const every = ['--checkpoint-every', '8192'];
    const tuned = runCli(['apply', pkg, '--in-place', img, '--stash-dir', join(work, 's1'), ...every]);
    expectError(tuned, 2, 'BAD_OPTION');
    expect(tuned.stderr).toContain('--checkpoint-every cannot be used with it');
    // --stash-dir without --in-place is named as such, not as a clash with an --in-place never given.
    const stashOnly = runCli([
      'apply',
      pkg,
      '--old',
      oldPath,
      '-o',
      join(work, 'y.img'),
      '--stash-dir',
      join(work, 's1'),
    ]);
    expectError(stashOnly, 2, 'BAD_OPTION');
    expect(stashOnly.stderr).toContain('--stash-dir <dir> goes with --in-place <image>');
    expect(existsSync(join(work, 'y.img'))).toBe(false);
    expect(sha256Hex(readFileSync(img))).toBe(sha256Hex(readFileSync(oldPath)));
    runCliOk(['apply', pkg, '--old', oldPath, '-o', join(work, 'ab-style.img')]);
    expect(sha256Hex(readFileSync(join(work, 'ab-style.img')))).toBe(newSha);
  });

  it('a block no op has touched yet, damaged, is refused with exit 5 before any write', async () => {
    const reader = await PackageReader.open(pkg);
    const ops = reader.manifest.partitions[0]!.operations;
    await reader.close();
    // An unchanged run (identity copy): nothing ever writes it, so nothing can explain a change.
    const keep = ops.find((o) => o.type === 'copy' && o.src[0]!.startBlock === o.dst[0]!.startBlock)!;
    expect(keep).toBeDefined();
    const img = copyOfOld('damaged.img');
    const bytes = readFileSync(img);
    bytes[keep.dst[0]!.startBlock * BS + 10]! ^= 0xff;
    writeFileSync(img, bytes);
    const stash = join(work, 'stash-damaged');
    const r = runCli(['apply', pkg, '--in-place', img, '--stash-dir', stash]);
    expectError(r, 5, 'WRONG_BASE');
    // It may be a half-updated image whose stash folder is not the one given: says which to give.
    expect(r.stderr).toContain('if an apply of this package was interrupted, give the --stash-dir it used');
    expect(readFileSync(img).equals(bytes)).toBe(true);
    expect(existsSync(stash)).toBe(false);
  });

  it('a missing image (exit 8) or one of another size (exit 5) leaves no stash folder behind', () => {
    const missing = join(work, 'stash-missing');
    expectError(
      runCli(['apply', pkg, '--in-place', join(work, 'no-such.img'), '--stash-dir', missing]),
      8,
      'IO_ENOENT',
    );
    expect(existsSync(missing)).toBe(false);
    const short = join(work, 'short.img');
    writeFileSync(short, readFileSync(oldPath).subarray(0, 1024 * 1024));
    const shortStash = join(work, 'stash-short');
    expectError(runCli(['apply', pkg, '--in-place', short, '--stash-dir', shortStash]), 5, 'WRONG_BASE');
    expect(existsSync(shortStash)).toBe(false);
    expect(readFileSync(short).length).toBe(1024 * 1024);
    // A folder is no image (as a FIFO is not); a sparse image is named as one, with the way out.
    const folder = join(work, 'a-folder.img');
    mkdirSync(folder);
    const r = runCli(['apply', pkg, '--in-place', folder, '--stash-dir', shortStash]);
    expectError(r, 2, 'OUTPUT_NOT_FILE');
    expect(r.stderr).toContain('is a folder, not an image');
    const sparse = join(work, 'old.simg');
    execFileSync('img2simg', [oldPath, sparse]);
    const s = runCli(['apply', pkg, '--in-place', sparse, '--stash-dir', shortStash]);
    expectError(s, 5, 'WRONG_BASE');
    expect(s.stderr).toContain('is an Android sparse image: --in-place rewrites a raw one, which simg2img makes');
    expect(existsSync(shortStash)).toBe(false);
  });
});

/** Writes `pkg` again with a changed manifest or target header, validly signed by the test key. */
async function resigned(
  name: string,
  edit: (m: { header: TargetHeader; manifest: Manifest; ops: Operation[] }) => void,
): Promise<string> {
  const reader = await PackageReader.open(pkg);
  const ops = [...reader.manifest.partitions[0]!.operations];
  const m = { header: { ...reader.targetHeader }, manifest: reader.manifest, ops };
  await reader.close();
  edit(m);
  const bytes = readFileSync(pkg);
  const blobs = sectionNamed(bytes, 'blobs');
  const spool = await BlobSpool.create(work);
  const range = await spool.append(bytes.subarray(blobs.offsetBytes, blobs.offsetBytes + blobs.sizeBytes));
  const path = join(work, `${name}.otapkg`);
  await writePackage(path, {
    signer: await loadSigner(testPrivateKeyPath('ed25519')),
    spool,
    blobRanges: [range],
    targetHeader: m.header,
    manifest: { ...m.manifest, partitions: [{ ...m.manifest.partitions[0]!, operations: m.ops }] },
  });
  await spool.dispose();
  return path;
}

describe('apply --in-place shares nothing it did not make', () => {
  it("a stash folder holding stash-named files that are not this package's is refused (exit 2); they stay, the image untouched", () => {
    const img = copyOfOld('user-stash.img');
    const stash = join(work, 'user-files');
    mkdirSync(stash);
    for (const n of [1, 2, 5]) writeFileSync(join(stash, `stash-${n}`), `precious ${n}`);
    writeFileSync(join(stash, 'notes.txt'), 'notes');
    const r = runCli(['apply', pkg, '--in-place', img, '--stash-dir', stash]);
    expectError(r, 2, 'BAD_STASH_DIR');
    expect(r.stderr).toMatch(/holds stash-1 and 2 more stash-named files, which this applier did not write/);
    for (const n of [1, 2, 5]) expect(readFileSync(join(stash, `stash-${n}`), 'utf8')).toBe(`precious ${n}`);
    expect(readdirSync(stash).sort()).toEqual(['notes.txt', 'stash-1', 'stash-2', 'stash-5']);
    expect(sha256Hex(readFileSync(img))).toBe(sha256Hex(readFileSync(oldPath)));
    // A marker naming another package (or a damaged one): its stash files are not this run's either.
    writeFileSync(join(stash, '.ota-stash-of'), `${'0'.repeat(64)}\n`, { mode: 0o600 });
    const other = runCli(['apply', pkg, '--in-place', img, '--stash-dir', stash]);
    expectError(other, 2, 'BAD_STASH_DIR');
    expect(other.stderr).toMatch(
      /left by an unfinished in-place apply of another package \(metadata sha256 0{16}…\); nothing was written\. If that apply was rewriting this image, they hold its only copy of the blocks it overwrote: keep the folder/,
    );
    for (const n of [1, 2, 5]) expect(readFileSync(join(stash, `stash-${n}`), 'utf8')).toBe(`precious ${n}`);
    expect(sha256Hex(readFileSync(img))).toBe(sha256Hex(readFileSync(oldPath)));
  });

  it('an image another apply holds (its lock beside it, a live pid) is refused with OUTPUT_BUSY before any write, whatever the stash folder', () => {
    const img = copyOfOld('locked.img');
    const lock = join(work, '.locked.img.ota-lock');
    writeFileSync(lock, `${process.pid}\n`);
    const stash = join(work, 'stash-other');
    const r = runCli(['apply', pkg, '--in-place', img, '--stash-dir', stash]);
    expectError(r, 8, 'OUTPUT_BUSY');
    expect(sha256Hex(readFileSync(img))).toBe(sha256Hex(readFileSync(oldPath)));
    expect(existsSync(stash)).toBe(false);
    // The same image through a link (another folder): one image, one lock.
    mkdirSync(join(work, 'links'));
    symlinkSync(img, join(work, 'links', 'link.img'));
    const viaLink = runCli(['apply', pkg, '--in-place', join(work, 'links', 'link.img'), '--stash-dir', stash]);
    expectError(viaLink, 8, 'OUTPUT_BUSY');
    expect(viaLink.stderr).toContain(`(lock ${lock})`);
    expect(sha256Hex(readFileSync(img))).toBe(sha256Hex(readFileSync(oldPath)));
    rmSync(lock);
    runCliOk(['apply', pkg, '--in-place', img, '--stash-dir', stash]);
    expect(sha256Hex(readFileSync(img))).toBe(newSha);
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(stash)).toBe(false);
  });
});

describe('validly signed unsafe in-place packages are refused with exit 4 before any write', () => {
  const firstStash = (ops: Operation[]) => ops.findIndex((o) => o.type === 'stash');
  const freeOf = (ops: Operation[], id: number) => ops.findIndex((o) => o.type === 'free' && o.stashId === id);
  it.each([
    [
      'a hazardous order (stashes dropped: ops read blocks already written)',
      (m: { ops: Operation[] }) => {
        const kept = m.ops
          .filter((o) => o.type !== 'stash' && o.type !== 'free')
          .map((o) => (o.type === 'copy' || o.type === 'diff' ? { ...o, stashIds: undefined } : o));
        m.ops.splice(0, m.ops.length, ...(kept as Operation[]));
      },
      /reads blocks .* already wrote|writes itself/,
    ],
    [
      'a stash peak over the limit',
      (m: { header: TargetHeader }) => {
        m.header = { ...m.header, maxStashBytes: BS };
      },
      /stash peaks at \d+ bytes, over the package's limit of 4096/,
    ],
    [
      'a stash used after its FREE',
      (m: { ops: Operation[] }) => {
        const s = firstStash(m.ops);
        const id = (m.ops[s] as { stashId: number }).stashId;
        const [free] = m.ops.splice(freeOf(m.ops, id), 1);
        m.ops.splice(s + 1, 0, free!);
      },
      /reads stash \d+, which is not live/,
    ],
    [
      'a stash never freed',
      (m: { ops: Operation[] }) => {
        const id = (m.ops[firstStash(m.ops)] as { stashId: number }).stashId;
        m.ops.splice(freeOf(m.ops, id), 1);
      },
      /stash \d+ is never freed/,
    ],
  ])('%s', async (name, edit, message) => {
    const bad = await resigned(name.replace(/\W+/g, '-'), edit as never);
    const img = copyOfOld(`${name.replace(/\W+/g, '-')}.img`);
    const stash = join(work, `stash-${name.replace(/\W+/g, '-')}`);
    const r = runCli(['apply', bad, '--in-place', img, '--stash-dir', stash]);
    expectError(r, 4, 'PKG_IN_PLACE_UNSAFE');
    expect(r.stderr).toMatch(message);
    expect(sha256Hex(readFileSync(img))).toBe(sha256Hex(readFileSync(oldPath)));
    expect(existsSync(stash)).toBe(false);
    expectError(runCli(['verify', bad]), 4, 'PKG_IN_PLACE_UNSAFE');
  });
});

describe('loop device', () => {
  it('applies an in-place package to a loop device, where losetup is allowed', (ctx) => {
    const img = copyOfOld('loop.img');
    const attach = spawnSync('losetup', ['-f', '--show', img], { encoding: 'utf8' });
    if (attach.status !== 0) {
      // The one condition under which this test does not run: the machine refuses loop devices.
      const why = `${attach.error?.message ?? ''}${attach.stderr}`.trim();
      expect(why, 'losetup failed for another reason than a missing permission or device').toMatch(
        /permission denied|operation not permitted|cannot find an unused loop device|no such file|ENOENT|could not find any free loop device|failed to set up loop device/i,
      );
      console.warn(`loop device test not run: losetup -f --show failed: ${why}`);
      ctx.skip();
      return;
    }
    const dev = attach.stdout.trim();
    try {
      runCliOk(['apply', pkg, '--in-place', dev, '--stash-dir', join(work, 'stash-loop')]);
      const read = spawnSync('sha256sum', [dev], { encoding: 'utf8' });
      expect(read.stdout.split(' ')[0]).toBe(newSha);
    } finally {
      spawnSync('losetup', ['-d', dev]);
    }
  });
});
