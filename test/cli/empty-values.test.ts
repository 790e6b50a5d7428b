// Empty option values and arguments (an unset variable in a script) are refused before any work,
// for every value option of every command (taken from the commands themselves, so a new option is
// covered too); and a usage error is printed once: as JSON on stdout with --json, else one line.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCommand } from '../../src/cli/commands/apply.js';
import { buildCommand } from '../../src/cli/commands/build.js';
import { inspectCommand } from '../../src/cli/commands/inspect.js';
import { verifyCommand } from '../../src/cli/commands/verify.js';
import { COMMANDS, declareCommand } from '../../src/cli/main.js';
import { OtaError } from '../../src/errors/ota-error.js';
import { describeRun, jsonOf, runCli } from '../helpers/run-cli.js';
import { writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

/** A command as main.ts declares it, with an action that must never run. */
function declared(make: (typeof COMMANDS)[number]): Command {
  const never = () => Promise.reject(new Error('the action ran'));
  const command = declareCommand(make, never).exitOverride();
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
        expect((err as OtaError).message).toContain(`${flag} is given an empty value`);
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

describe('from the command line', () => {
  it('build --old "" (an unset $OLD) is exit 2 on one line, and no output folder appears', () => {
    const out = join(work, 'never');
    const r = runCli(['build', '--old', '', '--new', pair.newPath, '-o', out]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(/^ota-build: error \[BAD_OPTION\]: --old is given an empty value/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
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
});
