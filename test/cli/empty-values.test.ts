// Empty option values and arguments (an unset variable in a script) are refused before any work,
// for every value option of every command (taken from the commands themselves, so a new option is
// covered too); and the other up-front refusals a slip at the prompt meets: a usage error printed
// once with --json, a bad --partition-name or `--key <target>=` as BAD_OPTION, --level checked
// against the codec it is for, build refusing to write a package over one of its inputs, and a
// build failing on its inputs printing its error without the warnings it held.

import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCommand } from '../../src/cli/commands/apply.js';
import { buildCommand } from '../../src/cli/commands/build.js';
import { compareCommand } from '../../src/cli/commands/compare.js';
import { inspectCommand } from '../../src/cli/commands/inspect.js';
import { keygenCommand } from '../../src/cli/commands/keygen.js';
import { targetsCommand } from '../../src/cli/commands/targets.js';
import { verifyCommand } from '../../src/cli/commands/verify.js';
import { refuseEmptyValues } from '../../src/cli/empty-values.js';
import { guardRepeatedOptions } from '../../src/cli/repeated-options.js';
import { OtaError } from '../../src/errors/ota-error.js';
import { describeRun, jsonOf, runCli, TEST_KEYS } from '../helpers/run-cli.js';
import { writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

const COMMANDS = [
  buildCommand,
  applyCommand,
  verifyCommand,
  inspectCommand,
  compareCommand,
  keygenCommand,
  targetsCommand,
];

/** A command as main.ts declares it, with an action that must never run. */
function declared(make: (typeof COMMANDS)[number]): Command {
  const never = () => Promise.reject(new Error('the action ran'));
  const command = refuseEmptyValues(guardRepeatedOptions(make(never))).exitOverride();
  command.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  return command;
}

/** What parsing `argv` throws (undefined when it does not). */
async function parseError(command: Command, argv: readonly string[]): Promise<unknown> {
  try {
    await command.parseAsync([...argv], { from: 'user' });
    return undefined;
  } catch (err) {
    return err;
  }
}

const valueOptions = COMMANDS.flatMap((make) =>
  declared(make)
    .options.filter((o) => !o.isBoolean() && !o.negate)
    .map((o) => [`${make(async () => undefined).name()} ${o.long ?? o.short!}`, o.long ?? o.short!, make] as const),
);

/** Whether `option` of `make`'s command checks its value itself (a number, a list, choices) before the guard. */
const parsedFirst = (make: (typeof COMMANDS)[number], flag: string): boolean => {
  const option = declared(make).options.find((o) => o.long === flag || o.short === flag)!;
  return option.parseArg !== undefined || option.argChoices !== undefined;
};

describe('an empty option value', () => {
  it('every command has value options to check', () => {
    expect(valueOptions.length).toBeGreaterThan(40);
  });

  it.each(valueOptions)('%s "" is refused before any work (exit 2)', async (_label, flag, make) => {
    for (const blank of ['', '  ']) {
      for (const argv of flag.startsWith('--') ? [[flag, blank], [`${flag}=${blank}`]] : [[flag, blank]]) {
        const err = await parseError(declared(make), argv);
        if (parsedFirst(make, flag)) {
          // Its own parser refuses it first: BAD_OPTION, or commander's list of the choices (USAGE).
          if (err instanceof OtaError) expect(err.code, JSON.stringify(argv)).toBe('BAD_OPTION');
          else expect((err as CommanderError).code, JSON.stringify(argv)).toBe('commander.invalidArgument');
          continue;
        }
        expect(err, JSON.stringify(argv)).toBeInstanceOf(OtaError);
        expect((err as OtaError).code).toBe('BAD_OPTION');
        expect((err as OtaError).message).toContain(`${flag.replace(/^-o$/, '--out')} is given an empty value`);
      }
    }
  });

  it('a value that is not blank passes the guard (the parser then goes on)', async () => {
    const err = await parseError(declared(buildCommand), ['--old', 'a.img']);
    // the required --new is what is missing now: commander's own error, not ours
    expect(err).toBeInstanceOf(CommanderError);
  });

  it.each([
    ['apply', applyCommand, ['-o', 'out.img']],
    ['verify', verifyCommand, []],
    ['inspect', inspectCommand, []],
  ] as const)('%s "" (the package argument) → BAD_OPTION', async (_name, make, needed) => {
    const err = await parseError(declared(make), ['', ...needed]);
    expect(err).toBeInstanceOf(OtaError);
    expect((err as OtaError).code).toBe('BAD_OPTION');
    expect((err as OtaError).message).toMatch(/^the package argument is empty/);
  });
});

let work: string;
let pair: ImagePair;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-empty-'));
  pair = writeImagePair(work, 11, 64 * 1024);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('refused before any work, from the command line', () => {
  it('build --old "" (an unset $OLD) is exit 2 on one line, and no output folder appears', () => {
    const out = join(work, 'never');
    const r = runCli(['build', '--old', '', '--new', pair.newPath, '-o', out]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(/^ota-build: error \[BAD_OPTION\]: --old is given an empty value/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });

  it('a build that fails on its inputs prints its error alone, without the warnings of packages it never made', () => {
    const empty = join(work, 'empty.img');
    writeFileSync(empty, '');
    const r = runCli(['build', '--old', pair.oldPath, '--new', empty, '-o', join(work, 'none')]);
    expect(r.status, describeRun(r)).toBe(3);
    expect(r.stderr).toMatch(/^ota-build: error \[IMAGE_EMPTY\]: [^\n]*\n$/);
    // A build that works still shows them (here the test key: runCli sets SOURCE_DATE_EPOCH).
    const ok = runCli([
      'build',
      '--old',
      pair.oldPath,
      '--new',
      pair.newPath,
      '-o',
      join(work, 'warned'),
      '--target',
      'generic',
    ]);
    expect(ok.status, describeRun(ok)).toBe(0);
    expect(ok.stderr).toMatch(/^warning \[TEST_KEY\]: /);
  });

  it('verify --old "" is refused, not a verify that skipped its trial apply', () => {
    const r = runCli(['verify', join(work, 'p.otapkg'), '--old', '', '--json']);
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error.code).toBe('BAD_OPTION');
  });

  it.each([
    [['verify', '--json'], /missing required argument 'package'/],
    [['verify', 'x.otapkg', '--json', '--bogus'], /unknown option '--bogus'/],
    [['bogus', '--json'], /unknown command 'bogus'/],
  ])('a usage error with --json is printed once, as JSON on stdout: %j', (argv, message) => {
    const r = runCli(argv);
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(message) });
    expect(r.stderr).toBe('');
  });

  it('the same usage error without --json is one line on stderr', () => {
    const r = runCli(['verify', 'x.otapkg', '--bogus']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ota-build: error \[USAGE\]: unknown option '--bogus' \(run with --help for usage\)\n$/);
  });

  it.each(['a/b', 'bad name', '..', 'x'.repeat(65)])(
    'build --partition-name %j → BAD_OPTION before encoding',
    (name) => {
      const out = join(work, 'named');
      const r = runCli([
        'build',
        '--old',
        pair.oldPath,
        '--new',
        pair.newPath,
        '-o',
        out,
        '--partition-name',
        name,
        '--json',
      ]);
      expect(r.status, describeRun(r)).toBe(2);
      expect(jsonOf(r).error).toMatchObject({
        code: 'BAD_OPTION',
        message: expect.stringMatching(/is not a partition name/),
      });
      expect(existsSync(out)).toBe(false);
    },
  );

  it.each([
    ['xz', '99', "--level 99 is outside xz's 0..9"],
    ['gzip', '0', "--level 0 is outside gzip's 1..9"],
    ['brotli', '12', "--level 12 is outside brotli's 0..11"],
    ['zstd', '23', "--level 23 is outside zstd's 1..22"],
  ])('build --codec %s --level %s names that codec range', (codec, level, message) => {
    const r = runCli([
      'build',
      '--new',
      pair.newPath,
      '-o',
      join(work, 'lv'),
      '--target',
      'generic',
      '--codec',
      codec,
      '--level',
      level,
      '--json',
    ]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error).toEqual({ code: 'BAD_LEVEL', message });
  });

  it('build --level abc is BAD_OPTION; a level too large for any number is too', () => {
    for (const level of ['abc', '-1', '99999999999999999999']) {
      const r = runCli([
        'build',
        '--new',
        pair.newPath,
        '-o',
        join(work, 'lv'),
        '--codec',
        'xz',
        '--level',
        level,
        '--json',
      ]);
      expect(r.status, describeRun(r)).toBe(2);
      expect(jsonOf(r).error.code).toBe('BAD_OPTION');
    }
  });

  it('build --key qualcomm= (no key after the target) is BAD_OPTION, not a missing file named "qualcomm="', () => {
    const r = runCli([
      'build',
      '--new',
      pair.newPath,
      '-o',
      join(work, 'k'),
      '--target',
      'qualcomm',
      '--key',
      'qualcomm=',
      '--json',
    ]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error).toMatchObject({ code: 'BAD_OPTION', message: expect.stringContaining('no key after "="') });
  });

  it.each([
    ['--new', 'update-generic.otapkg'],
    ['--old', 'update-generic.otapkg'],
    ['--old', 'update-generic.properties.json'],
  ])(
    'build refuses to replace its input %s when it sits at a package path (%s) and leaves it intact',
    (option, name) => {
      const out = join(work, `over-${option.slice(2)}-${name}`);
      mkdirSync(out);
      const input = join(out, name);
      cpSync(option === '--new' ? pair.newPath : pair.oldPath, input);
      const before = readFileSync(input);
      const images =
        option === '--new' ? ['--old', pair.oldPath, '--new', input] : ['--old', input, '--new', pair.newPath];
      const r = runCli(['build', ...images, '-o', out, '--target', 'generic', '--json']);
      expect(r.status, describeRun(r)).toBe(2);
      expect(jsonOf(r).error).toMatchObject({
        code: 'OUTPUT_IS_INPUT',
        message: expect.stringContaining(`is the input ${option} ${input}`),
      });
      expect(readFileSync(input).equals(before)).toBe(true);
    },
  );

  it('a key file sitting at a package path is refused as well', () => {
    const out = join(work, 'over-key');
    mkdirSync(out);
    const key = join(out, 'update-generic.otapkg');
    cpSync(join(TEST_KEYS, 'ed25519.pem'), key);
    const r = runCli(['build', '--new', pair.newPath, '-o', out, '--target', 'generic', '--key', key, '--json']);
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error.code).toBe('OUTPUT_IS_INPUT');
    expect(readFileSync(key, 'utf8')).toContain('PRIVATE KEY');
  });
});
