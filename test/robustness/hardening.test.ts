// Attacks from outside, through the real CLI, on a file system others can write to: small input
// files that are FIFOs or /dev/zero (they must be refused, never hang or grow memory), layout XML
// built to hit object prototypes or deep nesting, an all-DONT_CARE new image, and package strings
// carrying terminal escape sequences. Each case asserts the exit code and the one-line error.

import { execFileSync } from 'node:child_process';
import {
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
import { ROOT, describeRun, jsonOf, runCli, runCliOk, type CliRun } from '../helpers/run-cli.js';
import { writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';
import { PAC_PRODUCT, encodePac } from '../release-fixtures/make-unisoc-pac.js';
import { SparseBuilder } from '../sparse/sparse-test-kit.js';

/** A hang shows as a timeout of this many ms (the CLI answers these cases in well under a second). */
const HANG_MS = 20_000;

let work: string;
let pair: ImagePair;
let pkg: string;
let serial = 0;

/** A fresh path in the scratch folder. */
function fresh(name: string): string {
  return join(work, `${serial++}-${name}`);
}

/** A FIFO at a fresh path named `name` (nobody ever writes to it). */
function fifo(name: string): string {
  const p = fresh(name);
  execFileSync('mkfifo', [p]);
  return p;
}

/** A symlink to /dev/zero at a fresh path named `name`. */
function devZero(name: string): string {
  const p = fresh(name);
  symlinkSync('/dev/zero', p);
  return p;
}

/** A folder holding `entry` (made by `make`, a FIFO or /dev/zero link) and nothing else. */
function folderWith(entry: string, make: 'fifo' | 'zero'): string {
  const dir = fresh('release');
  mkdirSync(dir);
  if (make === 'fifo') execFileSync('mkfifo', [join(dir, entry)]);
  else symlinkSync('/dev/zero', join(dir, entry));
  return dir;
}

/** The run exits `status` with exactly one `ota-build: error [code]: …` line on stderr. */
function expectError(r: CliRun, status: number, code: string): void {
  expect(r.status, describeRun(r)).toBe(status);
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning ['));
  expect(lines, describeRun(r)).toHaveLength(1);
  expect(lines[0], describeRun(r)).toMatch(new RegExp(`^ota-build: error \\[${code}\\]: \\S`));
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-hardening-'));
  pair = writeImagePair(work, 0x4a2d, 128 * 1024);
  const out = join(work, 'pkg');
  runCliOk(['build', '--old', pair.oldPath, '--new', pair.newPath, '-o', out, '--target', 'generic', '--jobs', '1']);
  pkg = join(out, 'update-generic.otapkg');
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('small input files that are not regular files are refused, never read whole', () => {
  const kinds = [
    ['a FIFO', fifo],
    ['/dev/zero', devZero],
  ] as const;

  for (const [kind, make] of kinds) {
    it(`--device-state ${kind}: exit 2 BAD_DEVICE_STATE`, () => {
      const r = runCli(
        ['apply', pkg, '--old', pair.oldPath, '-o', fresh('out.img'), '--device-state', make('state.json')],
        { timeoutMs: HANG_MS },
      );
      expectError(r, 2, 'BAD_DEVICE_STATE');
    });

    it(`--target ${kind} profile: exit 2 PROFILE_INVALID`, () => {
      const r = runCli(['build', '--new', pair.newPath, '-o', fresh('out'), '--target', make('soc.json')], {
        timeoutMs: HANG_MS,
      });
      expectError(r, 2, 'PROFILE_INVALID');
    });

    it(`--key / --pubkey ${kind}: exit 6 KEY_INVALID`, () => {
      const build = runCli(
        ['build', '--new', pair.newPath, '-o', fresh('out'), '--target', 'generic'].concat(['--key', make('key.pem')]),
        { timeoutMs: HANG_MS },
      );
      expectError(build, 6, 'KEY_INVALID');
      const verify = runCli(['verify', pkg, '--pubkey', make('key.pub.pem')], { timeoutMs: HANG_MS });
      expectError(verify, 6, 'KEY_INVALID');
    });

    it(`a checkpoint that is ${kind}: --resume restarts from the first operation and succeeds`, () => {
      const dir = fresh('apply');
      mkdirSync(dir);
      const out = join(dir, 'new.img');
      const checkpoint = join(dir, '.new.img.ota-checkpoint');
      if (make === fifo) execFileSync('mkfifo', [checkpoint]);
      else symlinkSync('/dev/zero', checkpoint);
      const r = runCli(['apply', pkg, '--old', pair.oldPath, '-o', out, '--resume'], { timeoutMs: HANG_MS });
      expect(r.status, describeRun(r)).toBe(0);
      expect(r.stderr, describeRun(r)).toMatch(
        /RESUME_RESTART.*checkpoint is not ours: it is (not a regular file|a symlink)/,
      );
    });
  }

  for (const make of ['fifo', 'zero'] as const) {
    it(`a Qualcomm rawprogram XML that is ${make === 'fifo' ? 'a FIFO' : '/dev/zero'}: exit 3 RELEASE_BAD_LAYOUT`, () => {
      const dir = folderWith('rawprogram0.xml', make);
      const r = runCli(['build', '--old', dir, '--new', dir, '-o', fresh('out'), '--target', 'qualcomm'], {
        timeoutMs: HANG_MS,
      });
      expectError(r, 3, 'RELEASE_BAD_LAYOUT');
    });

    it(`a MediaTek scatter file that is ${make === 'fifo' ? 'a FIFO' : '/dev/zero'}: exit 3 RELEASE_BAD_LAYOUT`, () => {
      const dir = folderWith('MT6789_Android_scatter.txt', make);
      const r = runCli(['build', '--old', dir, '--new', dir, '-o', fresh('out'), '--target', 'mediatek'], {
        timeoutMs: HANG_MS,
      });
      expectError(r, 3, 'RELEASE_BAD_LAYOUT');
    });
  }

  it('a package path that is a FIFO: verify, inspect and apply exit 4 PKG_NOT_FILE instead of hanging', () => {
    const p = fifo('update.otapkg');
    expectError(runCli(['verify', p], { timeoutMs: HANG_MS }), 4, 'PKG_NOT_FILE');
    expectError(runCli(['inspect', p], { timeoutMs: HANG_MS }), 4, 'PKG_NOT_FILE');
    expectError(
      runCli(['apply', p, '--old', pair.oldPath, '-o', fresh('out.img')], { timeoutMs: HANG_MS }),
      4,
      'PKG_NOT_FILE',
    );
  });

  it('a FIFO --device-state is refused with --json too', () => {
    const r = runCli(
      ['apply', pkg, '--old', pair.oldPath, '-o', fresh('out.img'), '--device-state', fifo('s.json'), '--json'],
      { timeoutMs: HANG_MS },
    );
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error.code).toBe('BAD_DEVICE_STATE');
  });

  it('a too-large regular device state keeps its code and names the size', () => {
    const state = fresh('big.json');
    writeFileSync(state, `{"platform":"${'x'.repeat(70 * 1024)}"}`);
    const r = runCli(['apply', pkg, '--old', pair.oldPath, '-o', fresh('out.img'), '--device-state', state]);
    expectError(r, 2, 'BAD_DEVICE_STATE');
    expect(r.stderr).toMatch(/is 716\d\d bytes; at most 65536/);
  });
});

describe('layout XML that targets the parser: one-line exit 3, never a crash', () => {
  const program =
    '<program SECTOR_SIZE_IN_BYTES="4096" physical_partition_number="0" label="boot" start_sector="6" num_partition_sectors="8" filename="" sparse="false"';
  const bodies = {
    'elements nested 150 deep': `<data>${'<x>'.repeat(150)}${'</x>'.repeat(150)}</data>`,
    'a <constructor/> element': '<data><constructor/></data>',
    'a <__proto__> element': '<data><__proto__/></data>',
    'an attribute named __proto__': `<data>${program} __proto__="x"/></data>`,
    'an attribute named constructor': `<data>${program} constructor="x"/></data>`,
    'an attribute named hasOwnProperty': `<data>${program} hasOwnProperty="x"/></data>`,
  };

  for (const [name, body] of Object.entries(bodies)) {
    it(`rawprogram0.xml with ${name}: RELEASE_BAD_LAYOUT`, () => {
      const dir = fresh('qc');
      mkdirSync(dir);
      writeFileSync(join(dir, 'rawprogram0.xml'), `<?xml version="1.0" ?>\n${body}\n`);
      const r = runCli(['build', '--old', dir, '--new', dir, '-o', fresh('out'), '--target', 'qualcomm']);
      expectError(r, 3, 'RELEASE_BAD_LAYOUT');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it(`a PAC whose BMAConfig has ${name}: PAC_BAD_CONFIG`, () => {
      const dir = fresh('pac');
      mkdirSync(dir);
      const xml = body.replace(/^<data>/, '<BMAConfig>').replace(/<\/data>$/, '</BMAConfig>');
      const pac = encodePac('BP_R2.0.1', 'hardening', [
        { fileId: 'BOOT', fileName: 'boot.img', fileFlag: 1, checkFlag: 1, address: 0, data: Buffer.alloc(4096, 1) },
        { fileId: '', fileName: `${PAC_PRODUCT}.xml`, fileFlag: 2, checkFlag: 0, address: 0, data: Buffer.from(xml) },
      ]);
      const path = join(dir, 'release.pac');
      writeFileSync(path, pac);
      const r = runCli(['build', '--old', path, '--new', path, '-o', fresh('out'), '--target', 'unisoc']);
      expectError(r, 3, 'PAC_BAD_CONFIG');
    });
  }
});

describe('a new image that is entirely DONT_CARE', () => {
  it('is refused as an input problem (exit 3 IMAGE_ALL_DONT_CARE), full and delta, and no package is written', () => {
    const allDontCare = fresh('all-dont-care.simg');
    writeFileSync(allDontCare, new SparseBuilder().dontCare(32).build());
    const old = fresh('old.simg');
    writeFileSync(old, new SparseBuilder().raw(Buffer.alloc(32 * 4096, 0x5a)).build());
    for (const args of [
      ['--new', allDontCare],
      ['--old', old, '--new', allDontCare],
    ]) {
      const out = fresh('out');
      const r = runCli(['build', ...args, '-o', out, '--target', 'generic', '--jobs', '1']);
      expectError(r, 3, 'IMAGE_ALL_DONT_CARE');
      expect(r.stderr).toContain('all-dont-care.simg');
      expect(existsSync(out) ? readdirSync(out) : [], 'nothing left in the output folder').toEqual([]);
    }
  });

  it('is still accepted when the old image is the same all-DONT_CARE image (an unchanged partition)', () => {
    const img = fresh('same.simg');
    writeFileSync(img, new SparseBuilder().dontCare(32).build());
    const out = fresh('out');
    runCliOk(['build', '--old', img, '--new', img, '-o', out, '--target', 'generic', '--jobs', '1']);
    const applied = fresh('applied.img');
    runCliOk(['apply', join(out, 'update-generic.otapkg'), '--old', img, '-o', applied, '--output-format', 'raw']);
    expect(readFileSync(applied)).toEqual(Buffer.alloc(32 * 4096));
  });
});

describe('strings from a package are printed with control characters escaped', () => {
  /** Raw C0 (except the line feed), DEL or C1 characters. */
  const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
  const sourceVersion = 'v1\u001b[2K\r';
  // A line feed in a label must not start a line of its own in a description either.
  const targetVersion = 'v2\u009b31m\nFORGED LINE';
  const platform = 'soc\nFORGED PLATFORM';
  const vendor = 'Evil\u001b]0;pwned\u0007';
  let evilPkg: string;
  let key: string;

  beforeAll(() => {
    key = fresh('key');
    runCliOk(['keygen', '--algorithm', 'ed25519', '-o', key]);
    const base = JSON.parse(readFileSync(join(ROOT, 'profiles', 'generic.json'), 'utf8')) as Record<string, unknown>;
    const profile = fresh('evil.json');
    writeFileSync(profile, JSON.stringify({ ...base, id: 'evil', vendor }));
    const out = fresh('out');
    runCliOk([
      'build',
      '--new',
      pair.newPath,
      '-o',
      out,
      '--target',
      profile,
      '--source-version',
      sourceVersion,
      '--target-version',
      targetVersion,
      '--platform',
      platform,
      '--jobs',
      '1',
      '--key',
      `${key}.pem`,
    ]);
    evilPkg = join(out, 'update-evil.otapkg');
  });

  /** No raw control character reaches the terminal, on stdout or stderr. */
  function expectNoRawControl(r: CliRun): void {
    expect(RAW_CONTROL.test(r.stdout), `stdout of ${describeRun(r)}`).toBe(false);
    expect(RAW_CONTROL.test(r.stderr), `stderr of ${describeRun(r)}`).toBe(false);
  }

  it('inspect (signed by a key it was not given) shows the escapes and keeps "(NOT verified)" visible; --json stays exact', () => {
    const r = runCliOk(['inspect', evilPkg]);
    expectNoRawControl(r);
    expect(r.stdout).toContain('(NOT verified)');
    expect(r.stdout).toContain('v1\\x1b[2K\\x0d → v2\\x9b31m');
    expect(r.stdout).toContain('Evil\\x1b]0;pwned\\x07');
    expect(r.stdout).toContain('soc\\x0aFORGED PLATFORM');
    expect(r.stdout.split('\n').filter((line) => line.startsWith('FORGED'))).toEqual([]);
    const j = jsonOf(runCliOk(['inspect', evilPkg, '--json']));
    expect(j.sourceVersion).toBe(sourceVersion);
    expect(j.targetVersion).toBe(targetVersion);
    expect(j.target.vendor).toBe(vendor);
  });

  it('verify, apply and the refusal that quotes the vendor print no raw control characters', () => {
    const pubkey = ['--pubkey', `${key}.pub.pem`];
    expectNoRawControl(runCliOk(['verify', evilPkg, ...pubkey]));
    expectNoRawControl(runCliOk(['apply', evilPkg, '-o', fresh('applied.img'), ...pubkey]));
    const refused = runCli(['apply', evilPkg, '-o', fresh('refused.img'), '--device-target', 'qualcomm', ...pubkey]);
    expectError(refused, 5, 'WRONG_TARGET');
    expectNoRawControl(refused);
  });
});
