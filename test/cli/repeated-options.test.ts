// Argv table: a single-valued option given twice is REPEATED_OPTION (exit 2) for every command and
// every spelling; repeatable and comma-list options still accumulate. Spawns the real bin.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCommand } from '../../src/cli/commands/build.js';
import { guardRepeatedOptions, repeatMode } from '../../src/cli/repeated-options.js';
import { describeRun, jsonOf, runCli, runCliOk } from '../helpers/run-cli.js';
import { writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

let work: string;
let pair: ImagePair;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-repeat-'));
  pair = writeImagePair(work, 7, 64 * 1024);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** argv (before --json), and the option the error must name. */
const REPEATED: readonly (readonly [readonly string[], string])[] = [
  [['build', '--new', 'n.img', '--old', 'a.img', '--old', 'b.img', '-o', 'out'], '--old'],
  [['build', '--new', 'n.img', '--old=a.img', '--old', 'b.img', '-o', 'out'], '--old'],
  [['build', '--new', 'n.img', '--old', 'a.img', '--old=b.img', '-o', 'out'], '--old'],
  [['build', '--new', 'n.img', '-o', 'x', '--out', 'y'], '--out'],
  [['build', '--new', 'n.img', '-o', 'x', '-oy'], '--out'],
  [['build', '--new', 'n.img', '-o', 'x', '--codec', 'xz', '--codec', 'zstd'], '--codec'],
  [['build', '--new', 'n.img', '-o', 'x', '--level', '3', '--level', '9'], '--level'],
  [['build', '--new', 'n.img', '-o', 'x', '-j', '1', '--jobs', '2'], '--jobs'],
  [['apply', 'p.otapkg', '--old', 'a.img', '--old', 'b.img', '-o', 'out.img'], '--old'],
  [['apply', 'p.otapkg', '-o', 'x.img', '-o', 'y.img'], '--out'],
  [['apply', 'p.otapkg', '-o', 'x.img', '--device-target', 'qualcomm', '--device-target=mediatek'], '--device-target'],
  [['verify', 'p.otapkg', '--old', 'a.img', '--old=b.img'], '--old'],
  [['inspect', 'p.otapkg', '--html', 'a.html', '--html', 'b.html'], '--html'],
  [['compare', '--new', 'a.img', '--new', 'b.img'], '--new'],
  [['compare', '--new', 'n.img', '--target', 'generic', '--target', 'unisoc'], '--target'],
  [['compare', '--new', 'n.img', '--levels', 'zstd=3', '--levels', 'xz=6'], '--levels'],
  [['keygen', '--algorithm', 'ed25519', '--algorithm', 'rsa-2048', '-o', 'k'], '--algorithm'],
  [['keygen', '--algorithm', 'ed25519', '-o', 'k1', '-o', 'k2'], '--out'],
];

describe('a repeated single-valued option', () => {
  it.each(REPEATED)('%j → exit 2 REPEATED_OPTION naming %s', (argv, option) => {
    const r = runCli([...argv, '--json'], { cwd: work });
    expect(r.status, describeRun(r)).toBe(2);
    const { error } = jsonOf(r);
    expect(error.code).toBe('REPEATED_OPTION');
    expect(error.message).toMatch(new RegExp(`^${option} given more than once \\(`));
    const text = runCli(argv, { cwd: work });
    expect(text.status).toBe(2);
    expect(text.stderr).toMatch(new RegExp(`^ota-build: error \\[REPEATED_OPTION\\]: ${option} given more than once`));
    expect(text.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('targets has no value options, and repeating a flag is harmless', () => {
    const r = runCliOk(['targets', '--json', '--json']);
    expect(jsonOf(r).map((t: { id: string }) => t.id)).toContain('generic');
  });
});

describe('repeatable options still accumulate', () => {
  it('--target a --target b builds both, like --target a,b', () => {
    const r = runCliOk([
      'build',
      '--old',
      pair.oldPath,
      '--new',
      pair.newPath,
      '-o',
      join(work, 'two'),
      '--target',
      'generic',
      '--target',
      'mtk',
      '--jobs',
      '1',
      '--json',
    ]);
    expect(
      jsonOf(r)
        .packages.map((p: { target: string }) => p.target)
        .sort(),
    ).toEqual(['generic', 'mediatek']);
  });

  it('--key given twice means two signing keys (key rotation): the keys are loaded, not REPEATED_OPTION', () => {
    const r = runCli(
      ['build', '--new', pair.newPath, '-o', join(work, 'k'), '--key', 'a.pem', '--key', 'b.pem', '--json'],
      { cwd: work },
    );
    expect(r.status, describeRun(r)).toBe(8);
    expect(jsonOf(r).error.code).toBe('IO_ENOENT');
    expect(jsonOf(r).error.message).toMatch(/a\.pem/);
  });

  it('--pubkey given twice pins two keys: the keys are loaded, not REPEATED_OPTION', () => {
    const r = runCli(['verify', 'p.otapkg', '--pubkey', 'a.pem', '--pubkey', 'b.pem', '--json'], { cwd: work });
    expect(jsonOf(r).error.code).not.toBe('REPEATED_OPTION');
  });
});

describe('repeat modes come from the option definitions', () => {
  const build = () => guardRepeatedOptions(buildCommand(async () => undefined));
  const modeOf = (flag: string) => repeatMode(build().options.find((o) => o.long === flag)!);

  it("collect options are commander's, comma lists join, flags are ignored, the rest refuse", () => {
    expect(['--key', '--partitions', '--exclude', '--target', '--json', '--old', '--level'].map(modeOf)).toEqual([
      'commander',
      'join',
      'join',
      'join',
      'ignore',
      'refuse',
      'refuse',
    ]);
  });

  it('--partitions a,b --partitions c is [a, b, c]; --exclude x --exclude=y is [x, y]', () => {
    const cmd = build();
    cmd.parseOptions(['--partitions', 'a,b', '--partitions', 'c', '--exclude', 'x', '--exclude=y']);
    expect([cmd.opts().partitions, cmd.opts().exclude]).toEqual([
      ['a', 'b', 'c'],
      ['x', 'y'],
    ]);
  });
});
