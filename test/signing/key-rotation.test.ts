// Key rotation (format 1.2): a package signed by two keys verifies and applies with either public
// key alone, is refused with a third (exit 6), inspect lists both key ids, and a one-key package
// keeps the 1.0 layout byte for byte. Runs the real CLI.

import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, jsonOf, ROOT, runCli, runCliOk } from '../helpers/run-cli.js';
import { HEADER_FIELD } from '../helpers/package-bytes.js';
import { deltaBuildArgs, writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

const work = mkdtempSync(join(tmpdir(), 'ota-rotation-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let pair: ImagePair;
const key = (name: string) => join(work, `${name}.pem`);
const pub = (name: string) => join(work, `${name}.pub.pem`);
/** A delta build of the pair for `targets` into `<work>/<out>`, with `keyArgs`. */
const buildFor = (out: string, targets: string, ...keyArgs: string[]) =>
  runCli(deltaBuildArgs(pair, join(work, out), '--target', targets, ...keyArgs, '-j', '1'));
const build = (out: string, ...keyArgs: string[]) => buildFor(out, 'generic', ...keyArgs);
const pkg = (out: string) => join(work, out, 'update-generic.otapkg');

beforeAll(() => {
  pair = writeImagePair(work, 0x70a7e, 96 * 1024);
  for (const name of ['old', 'new', 'third', 'k4', 'k5'])
    runCliOk(['keygen', '--algorithm', 'ed25519', '-o', join(work, name)]);
  runCliOk(['keygen', '--algorithm', 'rsa-2048', '-o', join(work, 'rsa')]);
  for (const [out, ...keys] of [
    ['both', 'old', 'new'],
    ['old-only', 'old'],
    ['new-only', 'new'],
  ]) {
    const r = build(out!, ...keys.flatMap((k) => ['--key', key(k)]));
    expect(r.status, describeRun(r)).toBe(0);
  }
}, 120_000);

describe('a package signed by two keys', () => {
  it('verifies with either public key alone, and with both pinned', () => {
    for (const pins of [['old'], ['new'], ['third', 'new'], ['old', 'new']]) {
      const r = runCli(['verify', pkg('both'), ...pins.flatMap((p) => ['--pubkey', pub(p)]), '--json']);
      expect(r.status, describeRun(r)).toBe(0);
      expect(jsonOf(r).ok).toBe(true);
    }
  });

  it('is refused with a third key: exit 6 SIG_WRONG_KEY naming both signing keys', () => {
    const r = runCli(['verify', pkg('both'), '--pubkey', pub('third')]);
    expect(r.status, describeRun(r)).toBe(6);
    expect(r.stderr).toMatch(/\[SIG_WRONG_KEY\].*signed by key [0-9a-f]{16}…, [0-9a-f]{16}…/);
  });

  it('applies with the new key only and reproduces the new image', () => {
    const out = join(work, 'applied.img');
    const r = runCli(['apply', pkg('both'), '--old', pair.oldPath, '-o', out, '--pubkey', pub('new')]);
    expect(r.status, describeRun(r)).toBe(0);
    expect(readFileSync(out).equals(pair.newImage)).toBe(true);
  });

  it('inspect lists both key ids in signing order; the format is 1.2', () => {
    const ids = ['old', 'new'].map(
      (k) => jsonOf(runCliOk(['inspect', pkg(`${k}-only`), '--pubkey', pub(k), '--json'])).signature.keyId,
    );
    const r = jsonOf(runCliOk(['inspect', pkg('both'), '--pubkey', pub('new'), '--json']));
    expect(r.formatVersion).toBe('1.2');
    expect(r.signature.keyIds).toEqual(ids);
    expect(r.signature.keyId).toBe(ids[1]);
    const text = runCliOk(['inspect', pkg('both'), '--pubkey', pub('old')]).stdout;
    expect(text).toContain(`key ${ids[0]!.slice(0, 16)}…, ${ids[1]!.slice(0, 16)}…`);
  });

  it('carries the one-key package in its first signature slots: same bytes apart from header and signature sections', () => {
    const one = readFileSync(pkg('old-only'));
    const two = readFileSync(pkg('both'));
    const blockBytes = 36 + 64;
    expect(two.length).toBe(one.length + 2 * blockBytes);
    expect(one[7]).toBe(0); // a one-key single-image package stays format 1.0
    expect(two[7]).toBe(2);
    expect(two.readUInt32LE(24)).toBe(2 * blockBytes);
    expect(one.readUInt32LE(24)).toBe(blockBytes);
  });
});

describe('signing key refusals', () => {
  it('refuses a fifth key (at most 4), mixed algorithms and a repeated key with exit 2, writing nothing', () => {
    const five = build('five', ...['old', 'new', 'third', 'k4', 'k5'].flatMap((k) => ['--key', key(k)]));
    expect(five.status, describeRun(five)).toBe(2);
    expect(five.stderr).toMatch(/\[TOO_MANY_KEYS\]/);
    const mixed = build('mixed', '--key', key('old'), '--key', key('rsa'));
    expect(mixed.status, describeRun(mixed)).toBe(2);
    expect(mixed.stderr).toMatch(/\[KEY_ALGORITHM_MISMATCH\]/);
    const twice = build('twice', '--key', key('old'), '--key', key('old'));
    expect(twice.status, describeRun(twice)).toBe(2);
    expect(twice.stderr).toMatch(/\[DUPLICATE_KEY\]/);
    for (const out of ['five', 'mixed', 'twice']) expect(existsSync(pkg(out))).toBe(false);
  });

  it('per-target keys still work next to rotation keys', () => {
    const r = runCli([
      'build',
      '--old',
      pair.oldPath,
      '--new',
      pair.newPath,
      '-o',
      join(work, 'per-target'),
      '--target',
      'generic,mediatek',
      '--key',
      key('old'),
      '--key',
      key('new'),
      '--key',
      `mediatek=${key('rsa')}`,
      '-j',
      '1',
    ]);
    expect(r.status, describeRun(r)).toBe(0);
    const generic = jsonOf(
      runCliOk(['inspect', join(work, 'per-target', 'update-generic.otapkg'), '--pubkey', pub('old'), '--json']),
    );
    expect(generic.signature.keyIds).toHaveLength(2);
    const mtk = jsonOf(
      runCliOk(['inspect', join(work, 'per-target', 'update-mediatek.otapkg'), '--pubkey', pub('rsa'), '--json']),
    );
    expect(mtk.signature.algorithm).toBe('rsa-2048');
    expect(mtk.signature.keyIds).toBeUndefined();
  });
});

describe('keys for some targets only', () => {
  it('a target left without a key is KEY_MISSING (exit 2), nothing written: never silently test-signed', () => {
    const r = buildFor('some-keys', 'generic,mediatek,unisoc', '--key', `mediatek=${key('rsa')}`);
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr.trim()).toBe(
      'ota-build: error [KEY_MISSING]: no key for targets generic, unisoc: keys are given for the others only, and a target without one would be signed with the public test key; give each target a key (--key <pem> for all, --key <target>=<pem> for one) or leave it out of --target (nothing was written)',
    );
    expect(existsSync(join(work, 'some-keys'))).toBe(false);
    // No key at all is still the (warned) test-key build.
    const none = buildFor('no-keys', 'generic,mediatek');
    expect(none.status, describeRun(none)).toBe(0);
    expect(none.stderr).toMatch(/TEST_KEY/);
  });

  it('--sign-command signs the targets without keys of their own; a target with its own key is signed by it only', () => {
    const sign = `openssl pkeyutl -sign -inkey ${key('old')} -rawin -in /dev/stdin`;
    const r = buildFor(
      'cmd-and-own',
      'generic,mediatek',
      '--sign-command',
      sign,
      '--sign-pubkey',
      pub('old'),
      '--key',
      `mediatek=${key('rsa')}`,
    );
    expect(r.status, describeRun(r)).toBe(0);
    const inspect = (target: string, pubkey: string) =>
      jsonOf(runCliOk(['inspect', join(work, 'cmd-and-own', `update-${target}.otapkg`), '--pubkey', pubkey, '--json']));
    expect(inspect('generic', pub('old')).signature.algorithm).toBe('ed25519');
    expect(inspect('mediatek', pub('rsa')).signature.algorithm).toBe('rsa-2048');
  });

  it('keys or a sign command for all targets, when every target has its own, would sign nothing: BAD_OPTION', () => {
    const sign = `openssl pkeyutl -sign -inkey ${key('old')} -rawin -in /dev/stdin`;
    const own = ['--key', `generic=${key('new')}`, '--key', `mediatek=${key('rsa')}`];
    for (const [extra, unused] of [
      [['--sign-command', sign, '--sign-pubkey', pub('old')], '--sign-command'],
      [['--key', key('old')], 'the --key given for all targets'],
    ] as const) {
      const r = buildFor('all-own', 'generic,mediatek', ...own, ...extra);
      expect(r.status, describeRun(r)).toBe(2);
      expect(r.stderr).toContain(
        `[BAD_OPTION]: every target has keys of its own (--key <target>=…), which replace ${unused}: it would sign nothing`,
      );
      expect(existsSync(join(work, 'all-own'))).toBe(false);
    }
  });
});

describe('a target that reads an older format (maxFormatMinor)', () => {
  it('refuses a two-key build for a 1.1 target with FORMAT_TOO_NEW (exit 2) and writes no package', () => {
    const generic = JSON.parse(readFileSync(join(ROOT, 'profiles', 'generic.json'), 'utf8'));
    const profile = join(work, 'legacy-1.1.json');
    writeFileSync(profile, JSON.stringify({ ...generic, id: 'legacy', aliases: [], maxFormatMinor: 1 }));
    const out = join(work, 'legacy-two-keys');
    const args = ['build', '--old', pair.oldPath, '--new', pair.newPath, '-o', out, '--target', profile, '-j', '1'];
    const r = runCli([...args, '--key', key('old'), '--key', key('new')]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr).toContain('[FORMAT_TOO_NEW]');
    expect(r.stderr).toContain('reads package format 1.1 at most');
    expect(r.stderr).toContain('needs 1.2 for more than one signing key');
    expect(existsSync(join(out, 'update-legacy.otapkg'))).toBe(false);
    // One key: a 1.0 package, which that target reads.
    const one = runCli([...args, '--key', key('old')]);
    expect(one.status, describeRun(one)).toBe(0);
    expect(readFileSync(join(out, 'update-legacy.otapkg'))[HEADER_FIELD.formatMinor]).toBe(0);
  }, 60_000);
});
