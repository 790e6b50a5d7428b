// Refusals of valid packages in the wrong situation: wrong base image, wrong key, wrong target,
// missing or clashing paths. Each must give its documented exit code and error code BEFORE
// anything is written: no output, no temp file, the old image byte-identical, and an existing
// output file replaced only by a successful apply.

import {
  chmodSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtaError, applyPackage, inspectPackage, verifyPackage, CollectingReporter } from '../../src/index.js';
import { filesIn, sectionNamed, sha256Hex } from '../helpers/package-bytes.js';
import { TEST_KEYS, describeRun, jsonOf, runCli, runCliOk } from '../helpers/run-cli.js';
import { suiteSeed } from '../helpers/seeded-random.js';
import { writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

const SEED = suiteSeed(0x5e1f5a1);

let work: string;
let pair: ImagePair;
let oldSha: string;
let newSha: string;
/** Delta packages for qualcomm and mediatek (test keys, RSA), and generic signed by `signer`. */
let qualcommPkg: string;
let mediatekPkg: string;
let genericPkg: string;
let fullPkg: string;
let signer: string;
let otherEd: string;
let ecKey: string;
/** Wrong bases: same size with one byte changed, and 4096 bytes shorter. */
let sameSizeOld: string;
let shorterOld: string;
let longerOld: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-refusals-'));
  pair = writeImagePair(work, SEED);
  oldSha = sha256Hex(pair.oldImage);
  newSha = sha256Hex(pair.newImage);
  signer = join(work, 'signer');
  otherEd = join(work, 'other');
  ecKey = join(work, 'ec');
  runCliOk(['keygen', '--algorithm', 'ed25519', '-o', signer]);
  runCliOk(['keygen', '--algorithm', 'ed25519', '-o', otherEd]);
  runCliOk(['keygen', '--algorithm', 'ecdsa-p256', '-o', ecKey]);
  runCliOk([
    'build',
    '--old',
    pair.oldPath,
    '--new',
    pair.newPath,
    '-o',
    join(work, 'chip'),
    '--target',
    'qualcomm,mtk',
    '--jobs',
    '1',
  ]);
  runCliOk([
    'build',
    '--old',
    pair.oldPath,
    '--new',
    pair.newPath,
    '-o',
    join(work, 'gen'),
    '--target',
    'generic',
    '--jobs',
    '1',
    '--key',
    `${signer}.pem`,
  ]);
  runCliOk([
    'build',
    '--new',
    pair.newPath,
    '-o',
    join(work, 'full'),
    '--target',
    'generic',
    '--jobs',
    '1',
    '--key',
    `${signer}.pem`,
  ]);
  qualcommPkg = join(work, 'chip', 'update-qualcomm.otapkg');
  mediatekPkg = join(work, 'chip', 'update-mediatek.otapkg');
  genericPkg = join(work, 'gen', 'update-generic.otapkg');
  fullPkg = join(work, 'full', 'update-generic.otapkg');
  const wrong = Buffer.from(pair.oldImage);
  wrong[wrong.length >> 1] = wrong[wrong.length >> 1]! ^ 0x40;
  sameSizeOld = join(work, 'wrong-same-size.img');
  writeFileSync(sameSizeOld, wrong);
  shorterOld = join(work, 'wrong-shorter.img');
  writeFileSync(shorterOld, pair.oldImage.subarray(0, pair.oldImage.length - 4096));
  longerOld = join(work, 'wrong-longer.img');
  writeFileSync(longerOld, Buffer.concat([pair.oldImage, Buffer.of(0)]));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A fresh, empty folder for one apply's output. */
function outDir(name: string): string {
  const dir = join(work, `out-${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  return dir;
}

/** The library call must throw an OtaError with this code and exit code. */
async function expectOtaError(p: Promise<unknown>, code: string, exitCode: number): Promise<OtaError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(OtaError);
  const e = err as OtaError;
  expect({ code: e.code, exitCode: e.exitCode }, e.message).toEqual({ code, exitCode });
  expect(e.message).not.toContain('\n');
  return e;
}

/** A CLI run must exit `status` with exactly one `ota-build: error [code]` stderr line. */
function expectCliError(r: ReturnType<typeof runCli>, status: number, code: string): void {
  expect(r.status, describeRun(r)).toBe(status);
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning ['));
  expect(lines, describeRun(r)).toHaveLength(1);
  expect(lines[0]!.startsWith(`ota-build: error [${code}]: `), describeRun(r)).toBe(true);
}

describe('wrong base image', () => {
  it.each([
    ['a different image of the same size', () => sameSizeOld],
    ['a shorter image', () => shorterOld],
    ['a longer image', () => longerOld],
  ])('apply with %s → exit 5 WRONG_BASE, nothing written, old image unchanged', async (_what, oldOf) => {
    const wrongOld = oldOf();
    const before = sha256Hex(readFileSync(wrongOld));
    const dir = outDir('wrong-base');
    const out = join(dir, 'new.img');
    for (const pkg of [genericPkg, qualcommPkg]) {
      const pub = pkg === genericPkg ? ['--pubkey', `${signer}.pub.pem`] : [];
      const r = runCli(['apply', pkg, '--old', wrongOld, '-o', out, ...pub]);
      expectCliError(r, 5, 'WRONG_BASE');
      expect(filesIn(dir), describeRun(r)).toEqual([]);
      const v = runCli(['verify', pkg, '--old', wrongOld, ...pub]);
      expectCliError(v, 5, 'WRONG_BASE');
    }
    await expectOtaError(
      applyPackage({ packagePath: genericPkg, oldPath: wrongOld, outputPath: out, pubkeyPath: `${signer}.pub.pem` }),
      'WRONG_BASE',
      5,
    );
    expect(filesIn(dir)).toEqual([]);
    expect(sha256Hex(readFileSync(wrongOld)), 'the old image must not be modified').toBe(before);
  });

  it('the right base still applies (control), and the old image is unchanged afterwards', () => {
    const dir = outDir('right-base');
    const r = runCliOk(['apply', qualcommPkg, '--old', pair.oldPath, '-o', join(dir, 'new.img'), '--json']);
    expect(jsonOf(r).sha256).toBe(newSha);
    expect(sha256Hex(readFileSync(join(dir, 'new.img')))).toBe(newSha);
    expect(filesIn(dir)).toEqual(['new.img']);
    expect(sha256Hex(readFileSync(pair.oldPath))).toBe(oldSha);
  });

  it('a read-only old image is enough (it is never opened for writing)', () => {
    const ro = join(work, 'readonly-old.img');
    copyFileSync(pair.oldPath, ro);
    chmodSync(ro, 0o444);
    const dir = outDir('readonly');
    runCliOk(['apply', genericPkg, '--old', ro, '-o', join(dir, 'new.img'), '--pubkey', `${signer}.pub.pem`]);
    expect(sha256Hex(readFileSync(join(dir, 'new.img')))).toBe(newSha);
    expect(sha256Hex(readFileSync(ro))).toBe(oldSha);
  });
});

describe('wrong or unknown key', () => {
  it('verify --pubkey <another ed25519 key> → exit 6 SIG_WRONG_KEY', async () => {
    expectCliError(runCli(['verify', genericPkg, '--pubkey', `${otherEd}.pub.pem`]), 6, 'SIG_WRONG_KEY');
    await expectOtaError(
      verifyPackage({ packagePath: genericPkg, pubkeyPath: `${otherEd}.pub.pem` }),
      'SIG_WRONG_KEY',
      6,
    );
    // The embedded ed25519 test key is another key of the same algorithm, too.
    expectCliError(runCli(['verify', genericPkg, '--pubkey', join(TEST_KEYS, 'ed25519.pub.pem')]), 6, 'SIG_WRONG_KEY');
  });

  it('verify --pubkey <a key of another algorithm> → exit 6', async () => {
    const r = runCli(['verify', genericPkg, '--pubkey', `${ecKey}.pub.pem`]);
    expectCliError(r, 6, 'SIG_WRONG_KEY');
    expect(r.stderr, 'the message names both algorithms').toMatch(/ed25519.*ecdsa-p256/);
    for (const alg of ['rsa-2048', 'rsa-4096', 'ecdsa-p384']) {
      const rr = runCli(['verify', genericPkg, '--pubkey', join(TEST_KEYS, `${alg}.pub.pem`)]);
      expect(rr.status, describeRun(rr)).toBe(6);
    }
    // And the RSA-4096 qualcomm package with an RSA-2048 key (the mediatek test key).
    const q = runCli(['verify', qualcommPkg, '--pubkey', join(TEST_KEYS, 'rsa-2048.pub.pem')]);
    expect(q.status, describeRun(q)).toBe(6);
    await expectOtaError(
      verifyPackage({ packagePath: genericPkg, pubkeyPath: `${ecKey}.pub.pem` }),
      'SIG_WRONG_KEY',
      6,
    );
  });

  it('a package signed with a keygen key, verified or applied without --pubkey → exit 6 SIG_UNKNOWN_KEY', async () => {
    expectCliError(runCli(['verify', genericPkg]), 6, 'SIG_UNKNOWN_KEY');
    const dir = outDir('unknown-key');
    expectCliError(
      runCli(['apply', genericPkg, '--old', pair.oldPath, '-o', join(dir, 'new.img')]),
      6,
      'SIG_UNKNOWN_KEY',
    );
    expect(filesIn(dir)).toEqual([]);
    await expectOtaError(verifyPackage({ packagePath: fullPkg }), 'SIG_UNKNOWN_KEY', 6);
    // With its own key it verifies (control).
    runCliOk(['verify', genericPkg, '--pubkey', `${signer}.pub.pem`]);
  });

  it('inspect without --pubkey still describes a keygen-signed package, marked unverified', async () => {
    const reporter = new CollectingReporter();
    const report = await inspectPackage({ packagePath: genericPkg, reporter });
    expect(report.metadataVerified).toBe(false);
    expect(reporter.warnings.map((w) => w.code)).toContain('UNVERIFIED');
    const withKey = await inspectPackage({ packagePath: genericPkg, pubkeyPath: `${signer}.pub.pem` });
    expect(withKey.metadataVerified).toBe(true);
    await expectOtaError(
      inspectPackage({ packagePath: genericPkg, pubkeyPath: `${otherEd}.pub.pem` }),
      'SIG_WRONG_KEY',
      6,
    );
  });
});

describe('wrong target', () => {
  it('apply --device-target mediatek on a qualcomm package → exit 5 WRONG_TARGET, no output', async () => {
    const dir = outDir('wrong-target');
    // The qualcomm package applied to the pair's old image, with how the device names itself.
    const applyAs = (...device: string[]) =>
      runCli(['apply', qualcommPkg, '--old', pair.oldPath, '-o', join(dir, 'new.img'), ...device]);
    const r = applyAs('--device-target', 'mediatek');
    expectCliError(r, 5, 'WRONG_TARGET');
    expect(r.stderr).toContain('qualcomm');
    expect(filesIn(dir)).toEqual([]);
    for (const t of ['mtk', 'unisoc', 'generic', 'sprd', 'some-custom-soc']) {
      const rr = applyAs('--device-target', t);
      expectCliError(rr, 5, 'WRONG_TARGET');
      // A typed id that is no built-in target may be a typo: the refusal lists the built-in ones.
      if (t === 'some-custom-soc')
        expect(rr.stderr).toContain('(not a built-in target: qualcomm, mediatek, unisoc, generic)');
      else expect(rr.stderr).not.toContain('not a built-in target');
    }
    expect(filesIn(dir)).toEqual([]);
    expectCliError(runCli(['verify', qualcommPkg, '--device-target', 'mediatek']), 5, 'WRONG_TARGET');
    // The same id from a device-state file is the device's own name, not a typo: no list.
    const state = join(dir, '..', 'wrong-target-state.json');
    writeFileSync(state, JSON.stringify({ target: 'some-custom-soc' }));
    const fromState = applyAs('--device-state', state);
    expectCliError(fromState, 5, 'WRONG_TARGET');
    expect(fromState.stderr).not.toContain('not a built-in target');
    await expectOtaError(
      applyPackage({
        packagePath: mediatekPkg,
        oldPath: pair.oldPath,
        outputPath: join(dir, 'new.img'),
        deviceTarget: 'qualcomm',
      }),
      'WRONG_TARGET',
      5,
    );
    expect(filesIn(dir)).toEqual([]);
    expect(sha256Hex(readFileSync(pair.oldPath))).toBe(oldSha);
  });

  it.each([
    ['mtk', () => mediatekPkg],
    ['MediaTek', () => mediatekPkg],
    ['mediatek', () => mediatekPkg],
    ['qcom', () => qualcommPkg],
    ['qualcomm', () => qualcommPkg],
  ])('--device-target %s is accepted for its own package', (alias, pkgOf) => {
    const dir = outDir(`alias-${alias}`);
    const r = runCliOk([
      'apply',
      pkgOf(),
      '--old',
      pair.oldPath,
      '-o',
      join(dir, 'new.img'),
      '--device-target',
      alias,
      '--json',
    ]);
    expect(jsonOf(r).sha256, describeRun(r)).toBe(newSha);
    expect(sha256Hex(readFileSync(join(dir, 'new.img')))).toBe(newSha);
    runCliOk(['verify', pkgOf(), '--device-target', alias]);
  });
});

describe('missing or clashing paths', () => {
  it('a delta package applied without --old → exit 2 OLD_REQUIRED, no output', async () => {
    const dir = outDir('no-old');
    expectCliError(runCli(['apply', qualcommPkg, '-o', join(dir, 'new.img')]), 2, 'OLD_REQUIRED');
    expect(filesIn(dir)).toEqual([]);
    await expectOtaError(
      applyPackage({ packagePath: genericPkg, outputPath: join(dir, 'new.img'), pubkeyPath: `${signer}.pub.pem` }),
      'OLD_REQUIRED',
      2,
    );
    // A full package needs no --old (control).
    runCliOk(['apply', fullPkg, '-o', join(dir, 'new.img'), '--pubkey', `${signer}.pub.pem`]);
    expect(sha256Hex(readFileSync(join(dir, 'new.img')))).toBe(newSha);
  });

  it('-o equal to the --old path → exit 2, the old image unchanged', async () => {
    const dir = outDir('same-path');
    const old = join(dir, 'old.img');
    copyFileSync(pair.oldPath, old);
    expectCliError(runCli(['apply', qualcommPkg, '--old', old, '-o', old]), 2, 'OUTPUT_IS_OLD');
    // The same file spelled differently (relative to the cwd, with ./ and ..).
    expectCliError(
      runCli(['apply', qualcommPkg, '--old', 'old.img', '-o', `./../out-same-path/old.img`], { cwd: dir }),
      2,
      'OUTPUT_IS_OLD',
    );
    await expectOtaError(
      applyPackage({ packagePath: qualcommPkg, oldPath: old, outputPath: join(dir, '.', 'old.img') }),
      'OUTPUT_IS_OLD',
      2,
    );
    expect(sha256Hex(readFileSync(old))).toBe(oldSha);
    expect(filesIn(dir)).toEqual(['old.img']);
  });

  it('-o naming the old image through a symlink or a hard link never modifies the old image', () => {
    const dir = outDir('links');
    const old = join(dir, 'old.img');
    copyFileSync(pair.oldPath, old);
    symlinkSync(old, join(dir, 'sym.img'));
    linkSync(old, join(dir, 'hard.img'));
    for (const alias of ['sym.img', 'hard.img']) {
      const r = runCli(['apply', qualcommPkg, '--old', old, '-o', join(dir, alias)]);
      // Refusing (exit 2) or writing a new file in place of the link are both safe; the old image must survive.
      expect([0, 2], describeRun(r)).toContain(r.status);
      expect(sha256Hex(readFileSync(old)), `${alias}: ${describeRun(r)}`).toBe(oldSha);
    }
  });

  it('an existing output file is replaced only on success and left untouched on failure', async () => {
    const dir = outDir('existing');
    const out = join(dir, 'new.img');
    const sentinel = Buffer.from('previous contents of the output slot\n');
    writeFileSync(out, sentinel);
    // Failure before writing: wrong base, wrong target, wrong key.
    expectCliError(runCli(['apply', qualcommPkg, '--old', sameSizeOld, '-o', out]), 5, 'WRONG_BASE');
    expectCliError(
      runCli(['apply', qualcommPkg, '--old', pair.oldPath, '-o', out, '--device-target', 'mtk']),
      5,
      'WRONG_TARGET',
    );
    expectCliError(
      runCli(['apply', genericPkg, '--old', pair.oldPath, '-o', out, '--pubkey', `${otherEd}.pub.pem`]),
      6,
      'SIG_WRONG_KEY',
    );
    // Failure after the metadata checks: a damaged blob section (payload signature).
    const damaged = readFileSync(qualcommPkg);
    const blobs = sectionNamed(damaged, 'blobs');
    const at = blobs.offsetBytes + (blobs.sizeBytes >> 1);
    damaged[at] = damaged[at]! ^ 0x01;
    const damagedPath = join(work, 'damaged-qualcomm.otapkg');
    writeFileSync(damagedPath, damaged);
    const r = runCli(['apply', damagedPath, '--old', pair.oldPath, '-o', out]);
    expect([5, 6], describeRun(r)).toContain(r.status);
    expect(readFileSync(out).equals(sentinel), 'failed applies must leave the existing output untouched').toBe(true);
    expect(filesIn(dir)).toEqual(['new.img']);
    await expectOtaError(
      applyPackage({ packagePath: qualcommPkg, oldPath: longerOld, outputPath: out }),
      'WRONG_BASE',
      5,
    );
    expect(readFileSync(out).equals(sentinel)).toBe(true);
    // Success replaces it.
    runCliOk(['apply', qualcommPkg, '--old', pair.oldPath, '-o', out]);
    expect(sha256Hex(readFileSync(out))).toBe(newSha);
    // Nothing else is left beside it: no partial output, no checkpoint (filesIn lists dot files too).
    expect(filesIn(dir)).toEqual(['new.img']);
  });
});
