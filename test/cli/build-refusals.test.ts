// build's refusals before any work, for slips at the prompt: a bad --partition-name and
// `--key <target>=` as BAD_OPTION, --level checked against the codec it is for, a package path
// that is one of its inputs (OUTPUT_IS_INPUT, the input kept; a rebuild over its own packages
// goes on), and a build that fails on its inputs printing its error without the warnings it held.

import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, jsonOf, runCli, runCliOk, TEST_KEYS } from '../helpers/run-cli.js';
import { deltaBuildArgs, writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

let work: string;
let pair: ImagePair;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-build-refusals-'));
  pair = writeImagePair(work, 11, 64 * 1024);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A delta build of the pair into `out`, with `extra` options. */
const deltaBuild = (out: string, ...extra: string[]) => deltaBuildArgs(pair, out, ...extra);
/** A full build of the pair's new image into `out`, with `extra` options. */
const fullBuild = (out: string, ...extra: string[]) => ['build', '--new', pair.newPath, '-o', out, ...extra];

describe('build refuses before any work', () => {
  it.each(['a/b', 'bad name', '..', 'x'.repeat(65)])(
    'build --partition-name %j → BAD_OPTION before encoding',
    (name) => {
      const out = join(work, 'named');
      const r = runCli(deltaBuild(out, '--partition-name', name, '--json'));
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
    const r = runCli(fullBuild(join(work, 'lv'), '--target', 'generic', '--codec', codec, '--level', level, '--json'));
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error).toEqual({ code: 'BAD_LEVEL', message });
  });

  it('build --level abc is BAD_OPTION; a level too large for any number is too', () => {
    for (const level of ['abc', '-1', '99999999999999999999']) {
      const r = runCli(fullBuild(join(work, 'lv'), '--codec', 'xz', '--level', level, '--json'));
      expect(r.status, describeRun(r)).toBe(2);
      expect(jsonOf(r).error.code).toBe('BAD_OPTION');
    }
  });

  it('build --key qualcomm= (no key after the target) is BAD_OPTION, not a missing file named "qualcomm="', () => {
    const r = runCli(fullBuild(join(work, 'k'), '--target', 'qualcomm', '--key', 'qualcomm=', '--json'));
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error).toMatchObject({ code: 'BAD_OPTION', message: expect.stringContaining('no key after "="') });
  });

  it.each([
    [['--sign-pubkey', 'k.pub.pem'], '--sign-pubkey applies to --sign-command'],
    [['--sign-timeout', '5'], '--sign-timeout applies to --sign-command'],
    [['--pkcs11-module', '/usr/lib/softhsm/libsofthsm2.so'], '--pkcs11-module applies to a pkcs11: key'],
    [['--pkcs11-module', 'm.so', '--key', join(TEST_KEYS, 'ed25519.pem')], '--pkcs11-module applies to a pkcs11: key'],
  ])(
    'build %j, with nothing for it to act on, is BAD_OPTION: never dropped into a test-key build',
    (options, message) => {
      const out = join(work, 'orphan');
      const r = runCli(fullBuild(out, '--target', 'generic', ...options, '--json'));
      expect(r.status, describeRun(r)).toBe(2);
      expect(jsonOf(r).error).toEqual({
        code: 'BAD_OPTION',
        message: expect.stringMatching(
          new RegExp(`^${message}.*, and none is given: it would be ignored \\(nothing was written\\)$`),
        ),
      });
      expect(existsSync(out)).toBe(false);
    },
  );

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
    const r = runCli(fullBuild(out, '--target', 'generic', '--key', key, '--json'));
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error.code).toBe('OUTPUT_IS_INPUT');
    expect(readFileSync(key, 'utf8')).toContain('PRIVATE KEY');
  });

  it('a rebuild into the folder of its earlier packages replaces them (they are no input)', () => {
    const out = join(work, 'rebuilt');
    const args = deltaBuild(out, '--target', 'generic');
    runCliOk(args);
    const first = readFileSync(join(out, 'update-generic.otapkg'));
    runCliOk(args);
    expect(readFileSync(join(out, 'update-generic.otapkg')).equals(first)).toBe(true);
  });
});

describe('warnings of a build that fails', () => {
  it('a build that fails on its inputs prints its error alone, without the warnings of packages it never made', () => {
    const empty = join(work, 'empty.img');
    writeFileSync(empty, '');
    const r = runCli(['build', '--old', pair.oldPath, '--new', empty, '-o', join(work, 'none')]);
    expect(r.status, describeRun(r)).toBe(3);
    expect(r.stderr).toMatch(/^ota-build: error \[IMAGE_EMPTY\]: [^\n]*\n$/);
    // A build that works still shows them (here the test key: runCli sets SOURCE_DATE_EPOCH).
    const ok = runCli(deltaBuild(join(work, 'warned'), '--target', 'generic'));
    expect(ok.status, describeRun(ok)).toBe(0);
    expect(ok.stderr).toMatch(/^warning \[TEST_KEY\]: /);
  });
});
