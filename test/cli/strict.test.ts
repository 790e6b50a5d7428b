// --strict on verify, apply and inspect: a package signed with a public test key passes with a TEST_KEY
// warning (exit 0) without it, and fails with STRICT_TEST_KEY (exit 2) with it, also when the
// test key is passed explicitly or co-signs beside a release key; a package signed with a real key passes --strict, and inspect --strict
// fails on a package whose signature it could not check (STRICT_UNVERIFIED). Spawns the real bin.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEYS, describeRun, jsonOf, runCli, runCliOk } from '../helpers/run-cli.js';
import { writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

let work: string;
let pair: ImagePair;
let testSigned: string;
let realSigned: string;
let realKey: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-strict-'));
  pair = writeImagePair(work, 11, 64 * 1024);
  realKey = join(work, 'release');
  runCliOk(['keygen', '--algorithm', 'ed25519', '-o', realKey]);
  const build = (out: string, ...key: string[]) =>
    runCliOk([
      'build',
      '--old',
      pair.oldPath,
      '--new',
      pair.newPath,
      '-o',
      join(work, out),
      '--target',
      'generic',
      '--jobs',
      '1',
      ...key,
    ]);
  build('test');
  build('real', '--key', `${realKey}.pem`);
  build('co-signed', '--key', `${realKey}.pem`, '--key', join(TEST_KEYS, 'ed25519.pem'));
  testSigned = join(work, 'test', 'update-generic.otapkg');
  realSigned = join(work, 'real', 'update-generic.otapkg');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const testPub = () => join(TEST_KEYS, 'ed25519.pub.pem');

describe('a package co-signed by a release key and a public test key', () => {
  it('checked with the release key: TEST_KEY names the test key beside it; --strict refuses it (verify, inspect)', () => {
    const pkg = join(work, 'co-signed', 'update-generic.otapkg');
    const plain = jsonOf(runCliOk(['verify', pkg, '--pubkey', `${realKey}.pub.pem`, '--json']));
    expect(plain.warnings).toEqual([
      {
        code: 'TEST_KEY',
        message: expect.stringMatching(
          /^package also carries a signature naming a PUBLIC TEST KEY \(key [0-9a-f]{16}…, beside the --pubkey key\): a device that trusts the test key may accept it; not for release$/,
        ),
      },
    ]);
    for (const command of ['verify', 'inspect']) {
      const r = runCli([command, pkg, '--pubkey', `${realKey}.pub.pem`, '--strict', '--json']);
      expect(r.status, describeRun(r)).toBe(2);
      expect(jsonOf(r).error.code).toBe('STRICT_TEST_KEY');
    }
  });
});

describe('verify --strict', () => {
  it('a test-key package: exit 0 with a TEST_KEY warning without --strict', () => {
    const r = runCliOk(['verify', testSigned, '--json']);
    expect(jsonOf(r).ok).toBe(true);
    expect(jsonOf(r).warnings.map((w: { code: string }) => w.code)).toEqual(['TEST_KEY']);
    expect(runCliOk(['verify', testSigned]).stderr).toMatch(/^warning \[TEST_KEY\]: /m);
  });

  it.each([[[]], [['--pubkey', 'TEST_PUB']]])(
    'a test-key package with --strict %j: exit 2 STRICT_TEST_KEY',
    (extra) => {
      const args = extra.map((a) => (a === 'TEST_PUB' ? testPub() : a));
      const r = runCli(['verify', testSigned, '--strict', ...args, '--json']);
      expect(r.status, describeRun(r)).toBe(2);
      expect(jsonOf(r).error.code).toBe('STRICT_TEST_KEY');
      const text = runCli(['verify', testSigned, '--strict', ...args]);
      expect(text.status).toBe(2);
      expect(text.stderr).toMatch(
        /^ota-build: error \[STRICT_TEST_KEY\]: --strict: package is signed with a PUBLIC TEST KEY/,
      );
    },
  );

  it('without --strict, an explicit --pubkey that is the test key still warns TEST_KEY', () => {
    const r = runCliOk(['verify', testSigned, '--pubkey', testPub(), '--json']);
    expect(jsonOf(r).warnings.map((w: { code: string }) => w.code)).toEqual(['TEST_KEY']);
  });

  it('a package signed with a real key passes --strict with no warnings', () => {
    const r = runCliOk(['verify', realSigned, '--pubkey', `${realKey}.pub.pem`, '--strict', '--json']);
    expect(jsonOf(r)).toMatchObject({ ok: true, warnings: [] });
    expect(r.stderr).toBe('');
  });
});

describe('apply --strict', () => {
  it('a test-key package: refused before anything is written; applied with a warning without --strict', () => {
    const out = join(work, 'strict.img');
    const r = runCli(['apply', testSigned, '--old', pair.oldPath, '-o', out, '--strict', '--json']);
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error.code).toBe('STRICT_TEST_KEY');
    expect(existsSync(out)).toBe(false);
    const ok = runCliOk(['apply', testSigned, '--old', pair.oldPath, '-o', out, '--json']);
    expect(jsonOf(ok).warnings.map((w: { code: string }) => w.code)).toEqual(['TEST_KEY']);
    expect(existsSync(out)).toBe(true);
  });

  it('a real-key package applies with --strict', () => {
    const out = join(work, 'real.img');
    const r = runCliOk([
      'apply',
      realSigned,
      '--old',
      pair.oldPath,
      '-o',
      out,
      '--pubkey',
      `${realKey}.pub.pem`,
      '--strict',
      '--json',
    ]);
    expect(jsonOf(r).warnings).toEqual([]);
    expect(existsSync(out)).toBe(true);
  });
});

describe('build --strict with an explicit test key', () => {
  it('--key insecure-test-keys/ed25519.pem is refused like no key at all', () => {
    const out = join(work, 'explicit-test-key');
    const r = runCli([
      'build',
      '--new',
      pair.newPath,
      '-o',
      out,
      '--target',
      'generic',
      '--jobs',
      '1',
      '--key',
      join(TEST_KEYS, 'ed25519.pem'),
      '--strict',
      '--json',
    ]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error.code).toBe('STRICT_TEST_KEY');
  });
});

describe('inspect --strict', () => {
  it('a package signed by a key not given: UNVERIFIED warning without --strict, STRICT_UNVERIFIED (exit 2) with it', () => {
    const loose = runCliOk(['inspect', realSigned, '--json']);
    expect(jsonOf(loose).warnings.map((w: { code: string }) => w.code)).toEqual(['UNVERIFIED']);
    const r = runCli(['inspect', realSigned, '--strict', '--json']);
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error.code).toBe('STRICT_UNVERIFIED');
  });

  it('a test-key package fails --strict; a package checked with its --pubkey passes', () => {
    const r = runCli(['inspect', testSigned, '--strict', '--json']);
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error.code).toBe('STRICT_TEST_KEY');
    const ok = runCliOk(['inspect', realSigned, '--pubkey', `${realKey}.pub.pem`, '--strict', '--json']);
    expect(jsonOf(ok).warnings).toEqual([]);
  });
});
