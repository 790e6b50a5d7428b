// Refusals before any write, through the real CLI: another platform, a rollback (by option and
// by device-state file), too little free space, an output over an input, a result stdout cannot
// take, an unsigned package. Each asserts the exit code,
// the error code in a one-line message, and that no output (or partial output) exists.

import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { withSmallTmpfs } from '../helpers/small-tmpfs.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/ota-build.js');
const work = mkdtempSync(join(tmpdir(), 'ota-refusals-'));
const small = join(work, 'small-fs');
afterAll(() => {
  spawnSync('umount', [small]);
  rmSync(work, { recursive: true, force: true });
});

const oldPath = join(work, 'old.img');
const pkg = join(work, 'out', 'update-qualcomm.otapkg');
const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

beforeAll(() => {
  const old = syntheticImage(2 * 1024 * 1024, 3);
  writeFileSync(oldPath, old);
  writeFileSync(join(work, 'new.img'), applyEdits(old, [{ kind: 'random', at: 50_000, length: 9000 }], 3));
  const r = spawnSync(
    process.execPath,
    [
      bin,
      'build',
      '--old',
      oldPath,
      '--new',
      join(work, 'new.img'),
      '-o',
      join(work, 'out'),
      '--target',
      'qualcomm',
      '--platform',
      'sm8650',
      '--jobs',
      '1',
    ],
    { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '2000' } },
  );
  expect(r.status, r.stderr).toBe(0);
});

function expectRefused(args: string[], exit: number, code: string, outDir = work): { stderr: string } {
  const out = join(outDir, 'refused.img');
  const r = cli(['apply', pkg, '--old', oldPath, '-o', out, ...args]);
  expect(r.status, r.stderr).toBe(exit);
  const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('warning'));
  expect(lines).toEqual([expect.stringContaining(`[${code}]`)]);
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(outDir).filter((f) => f.includes('refused'))).toEqual([]);
  return r;
}

describe('refusals before any write', () => {
  it('another platform → exit 5 WRONG_PLATFORM; the same platform applies', () => {
    expectRefused(['--device-platform', 'mt6789'], 5, 'WRONG_PLATFORM');
    expect(
      cli(['apply', pkg, '--old', oldPath, '-o', join(work, 'ok1.img'), '--device-platform', 'SM8650']).status,
    ).toBe(0);
  });

  it('an older package than the device runs → exit 5 DOWNGRADE, unless --allow-downgrade; equal is fine', () => {
    expectRefused(['--device-timestamp', '3000'], 5, 'DOWNGRADE');
    const forced = cli([
      'apply',
      pkg,
      '--old',
      oldPath,
      '-o',
      join(work, 'ok2.img'),
      '--device-timestamp',
      '3000',
      '--allow-downgrade',
    ]);
    expect(forced.status).toBe(0);
    // A rollback that went through is said so (logs show it was one).
    expect(forced.stderr).toMatch(
      /^warning \[DOWNGRADE_ALLOWED\]: package timestamp \d+ is older than the device's 3000/m,
    );
    const equal = cli(['apply', pkg, '--old', oldPath, '-o', join(work, 'ok3.img'), '--device-timestamp', '2000']);
    expect(equal.status).toBe(0);
    expect(equal.stderr).not.toContain('DOWNGRADE_ALLOWED');
  });

  it('a device-state file is honoured, and a bad one is a usage error', () => {
    const state = join(work, 'device.json');
    writeFileSync(state, JSON.stringify({ target: 'qualcomm', platform: 'sm8650', timestampSeconds: 2500 }));
    expectRefused(['--device-state', state], 5, 'DOWNGRADE');
    writeFileSync(state, JSON.stringify({ target: 'mtk' }));
    expectRefused(['--device-state', state], 5, 'WRONG_TARGET');
    writeFileSync(state, '{"timestampSeconds": "soon"}');
    expectRefused(['--device-state', state], 2, 'BAD_DEVICE_STATE');
    writeFileSync(state, '{not json');
    expectRefused(['--device-state', state], 2, 'BAD_DEVICE_STATE');
    writeFileSync(state, JSON.stringify({ timestampSeconds: 1000 }));
    expect(cli(['apply', pkg, '--old', oldPath, '-o', join(work, 'ok4.img'), '--device-state', state]).status).toBe(0);
    // A folder, as device state or as device profile, is the I/O error a folder given as a key or a package is.
    const folder = join(work, 'state-folder.json');
    mkdirSync(folder, { recursive: true });
    expect(expectRefused(['--device-state', folder], 8, 'IO_EISDIR').stderr).toMatch(
      /cannot read device state .*state-folder\.json: is a folder/,
    );
    expectRefused(['--device-profile', folder], 8, 'IO_EISDIR');
    // A built-in target's name given as --device-profile (no such file) points to --device-target.
    expect(expectRefused(['--device-profile', 'qualcomm'], 2, 'BAD_OPTION').stderr).toMatch(
      /--device-profile takes a profile file and there is no file qualcomm; for the built-in target use --device-target qualcomm/,
    );
    // A profile file given as --device-target would be read as a target id.
    expect(expectRefused(['--device-target', './my-soc.json'], 2, 'BAD_OPTION').stderr).toMatch(
      /--device-target takes a target id .*; for a profile file use --device-profile \.\/my-soc\.json/,
    );
  });

  it('verify makes the same refusals (CI sees what the device would), also on the metadata alone, and lists what it checked', () => {
    const state = join(work, 'verify-device.json');
    const refused = (args: string[], exit: number, code: string) => {
      for (const only of [[], ['--metadata-only']]) {
        const r = cli(['verify', pkg, ...only, ...args]);
        expect(r.status, `${args.join(' ')} ${only.join(' ')}: ${r.stderr}`).toBe(exit);
        expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('warning'))).toEqual([
          expect.stringContaining(`[${code}]`),
        ]);
      }
    };
    refused(['--device-platform', 'mt6789'], 5, 'WRONG_PLATFORM');
    refused(['--device-timestamp', '3000'], 5, 'DOWNGRADE');
    writeFileSync(state, JSON.stringify({ platform: 'sm8650', timestampSeconds: 2500 }));
    refused(['--device-state', state], 5, 'DOWNGRADE');
    writeFileSync(state, JSON.stringify({ target: 'mtk' }));
    refused(['--device-state', state], 5, 'WRONG_TARGET');
    writeFileSync(state, '{"platform": 7}');
    refused(['--device-state', state], 2, 'BAD_DEVICE_STATE');
    // Passing: the checks name the device's platform and build, and a forced rollback is said so.
    const ok = cli([
      'verify',
      pkg,
      '--device-platform',
      'SM8650',
      '--device-timestamp',
      '3000',
      '--allow-downgrade',
      '--json',
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report.checks).toEqual(
      expect.arrayContaining([
        { id: 'device-platform', text: 'device platform sm8650' },
        { id: 'device-timestamp', text: "older than the device's build (timestamp 3000): allowed (--allow-downgrade)" },
      ]),
    );
    expect(report.warnings.map((w: { code: string }) => w.code)).toContain('DOWNGRADE_ALLOWED');
    writeFileSync(state, JSON.stringify({ target: 'qualcomm', platform: 'sm8650', timestampSeconds: 2000 }));
    const fromState = JSON.parse(cli(['verify', pkg, '--device-state', state, '--old', oldPath, '--json']).stdout);
    expect(fromState.checks).toEqual(
      expect.arrayContaining([
        { id: 'device-target', text: 'device target qualcomm' },
        { id: 'device-platform', text: 'device platform sm8650' },
        { id: 'device-timestamp', text: "not older than the device's build (timestamp 2000)" },
        { id: 'trial-apply', text: 'applies to the old image and reproduces the target sha256' },
      ]),
    );
  });

  it('too little free space at the destination → exit 8 NO_SPACE before starting', () => {
    mkdirSync(small);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], { encoding: 'utf8' });
    expect(m.status, `mounting a 1 MiB tmpfs (needs root): ${m.stderr}`).toBe(0);
    expectRefused([], 8, 'NO_SPACE', small);
    execFileSync('umount', [small]);
  });

  it('an output path that reaches the old image through a symlinked folder → exit 2 OUTPUT_IS_OLD, old image intact', () => {
    const link = join(work, 'link-to-work');
    spawnSync('ln', ['-s', work, link]);
    const before = readFileSync(oldPath);
    const r = cli(['apply', pkg, '--old', oldPath, '-o', join(link, 'old.img')]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/\[OUTPUT_IS_OLD\]/);
    expect(readFileSync(oldPath).equals(before)).toBe(true);
  });

  it('an output that names an input (the package; a report over an image or the package) → exit 2 OUTPUT_IS_INPUT, input intact', () => {
    const copy = join(work, 'copy.otapkg');
    writeFileSync(copy, readFileSync(pkg));
    const before = readFileSync(copy);
    const newPath = join(work, 'new.img');
    const newBefore = readFileSync(newPath);
    writeFileSync(join(work, 'key.pub.pem'), 'not read: refused first');
    const link = join(work, 'link-to-copy.otapkg');
    spawnSync('ln', ['-sf', copy, link]);
    const cases: [string[], RegExp][] = [
      [['apply', copy, '--old', oldPath, '-o', copy], /output .*copy\.otapkg is the package being applied/],
      [['apply', link, '--old', oldPath, '-o', copy], /is the package being applied/],
      [['inspect', copy, '--html', link], /--html .* is the input package .*copy\.otapkg/],
      [
        ['inspect', copy, '--pubkey', join(work, 'key.pub.pem'), '--html', join(work, 'key.pub.pem')],
        /is the input --pubkey /,
      ],
      [['compare', '--old', oldPath, '--new', newPath, '--csv', newPath], /--csv .* is the input --new /],
      [['compare', '--new', newPath, '--html', newPath], /--html .* is the input --new /],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/\[OUTPUT_IS_INPUT\]/);
      expect(r.stderr).toMatch(message);
    }
    expect(readFileSync(copy).equals(before)).toBe(true);
    expect(readFileSync(newPath).equals(newBefore)).toBe(true);
  });

  it('a result that cannot be written to stdout (a full disk) → exit 8 IO_ENOSPC on stderr, also with --json', async () => {
    const full = join(work, 'full-fs');
    await withSmallTmpfs(full, 1, async () => {
      // Filled 4 KiB at a time until the file system takes no more.
      const fill = openSync(join(full, 'fill'), 'w');
      try {
        for (;;) writeSync(fill, Buffer.alloc(4096));
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(fill);
      }
      for (const args of [['targets', '--json'], ['inspect', pkg, '--json'], ['targets']]) {
        const fd = openSync(join(full, 'result'), 'w');
        const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', fd, 'pipe'] });
        closeSync(fd);
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(8);
        expect(r.stderr).toMatch(/\[IO_ENOSPC\]: cannot write the result to standard output/);
      }
    });
  });

  it('an unsigned package (signature sizes zeroed) → exit 6 SIG_MISSING for verify and apply', () => {
    const bytes = readFileSync(pkg);
    bytes.writeUInt32LE(0, 24);
    const unsigned = join(work, 'unsigned.otapkg');
    writeFileSync(unsigned, bytes);
    const v = cli(['verify', unsigned]);
    expect(v.status).toBe(6);
    expect(v.stderr).toMatch(/\[SIG_MISSING\].*unsigned/);
    const a = cli(['apply', unsigned, '--old', oldPath, '-o', join(work, 'unsigned.img')]);
    expect(a.status).toBe(6);
    expect(existsSync(join(work, 'unsigned.img'))).toBe(false);
  });
});
