// --sign-command: openssl as an external signer gives the same bytes as the PEM key (Ed25519 via
// pkeyutl, RSA via dgst); a signer that lies, fails or hangs is refused with exit 6 and nothing
// is written. Runs the real CLI.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, runCli, runCliOk } from '../helpers/run-cli.js';
import { writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

const work = mkdtempSync(join(tmpdir(), 'ota-signcmd-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let pair: ImagePair;
const build = (out: string, ...args: string[]) =>
  runCli([
    'build',
    '--old',
    pair.oldPath,
    '--new',
    pair.newPath,
    '-o',
    join(work, out),
    '--target',
    'generic',
    ...args,
    '-j',
    '1',
  ]);
const pkg = (out: string) => join(work, out, 'update-generic.otapkg');

beforeAll(() => {
  pair = writeImagePair(work, 0x5167, 96 * 1024);
  for (const [name, alg] of [
    ['ed', 'ed25519'],
    ['rsa', 'rsa-2048'],
    ['other', 'ed25519'],
  ]) {
    runCliOk(['keygen', '--algorithm', alg!, '-o', join(work, name!)]);
  }
}, 60_000);

describe('--sign-command', () => {
  const cases: [string, string, string][] = [
    // OpenSSL 3.0 pkeyutl -rawin cannot size a plain stdin stream; `-in /dev/stdin` works because
    // ota-build hands the statement over as a regular file.
    [
      'ed25519 with openssl pkeyutl -rawin',
      'ed',
      `openssl pkeyutl -sign -inkey ${join(work, 'ed.pem')} -rawin -in /dev/stdin`,
    ],
    ['rsa-2048 with openssl dgst -sha256 -sign', 'rsa', `openssl dgst -sha256 -sign ${join(work, 'rsa.pem')}`],
  ];
  for (const [label, name, command] of cases) {
    it(`${label} gives the PEM key's bytes`, () => {
      const viaPem = build(`${name}-pem`, '--key', join(work, `${name}.pem`));
      expect(viaPem.status, describeRun(viaPem)).toBe(0);
      const viaCommand = build(
        `${name}-cmd`,
        '--sign-command',
        command,
        '--sign-pubkey',
        join(work, `${name}.pub.pem`),
      );
      expect(viaCommand.status, describeRun(viaCommand)).toBe(0);
      expect(readFileSync(pkg(`${name}-cmd`)).equals(readFileSync(pkg(`${name}-pem`)))).toBe(true);
      runCliOk(['verify', pkg(`${name}-cmd`), '--pubkey', join(work, `${name}.pub.pem`)]);
    });
  }

  it('refuses a signer that signs with another key: exit 6 SIG_SIGNER_BAD_SIGNATURE, nothing written', () => {
    const cmd = `openssl pkeyutl -sign -inkey ${join(work, 'other.pem')} -rawin -in "$OTA_SIGN_STATEMENT"`;
    const r = build('liar', '--sign-command', cmd, '--sign-pubkey', join(work, 'ed.pub.pem'));
    expect(r.status, describeRun(r)).toBe(6);
    expect(r.stderr).toMatch(/\[SIG_SIGNER_BAD_SIGNATURE\]/);
    expect(existsSync(pkg('liar'))).toBe(false);
  });

  it('refuses a signer that prints garbage of the right size', () => {
    const r = build('garbage', '--sign-command', 'head -c 64 /dev/zero', '--sign-pubkey', join(work, 'ed.pub.pem'));
    expect(r.status, describeRun(r)).toBe(6);
    expect(r.stderr).toMatch(/\[SIG_SIGNER_BAD_SIGNATURE\]/);
    expect(existsSync(pkg('garbage'))).toBe(false);
  });

  it('refuses a signer that exits non-zero: exit 6 SIG_COMMAND_FAILED with its stderr', () => {
    const r = build(
      'fails',
      '--sign-command',
      'echo "hsm offline" >&2; exit 3',
      '--sign-pubkey',
      join(work, 'ed.pub.pem'),
    );
    expect(r.status, describeRun(r)).toBe(6);
    expect(r.stderr).toMatch(/\[SIG_COMMAND_FAILED\].*exited with status 3: hsm offline/);
    expect(existsSync(pkg('fails'))).toBe(false);
  });

  it('kills a signer that hangs past --sign-timeout: exit 6 SIG_COMMAND_TIMEOUT, quickly', () => {
    const started = Date.now();
    const r = build(
      'hangs',
      '--sign-command',
      'sleep 60',
      '--sign-pubkey',
      join(work, 'ed.pub.pem'),
      '--sign-timeout',
      '1',
    );
    expect(r.status, describeRun(r)).toBe(6);
    expect(r.stderr).toMatch(/\[SIG_COMMAND_TIMEOUT\].*within 1 s/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(existsSync(pkg('hangs'))).toBe(false);
  });

  it('a signer that leaves a process holding its output open (outside its process group) still times out, exit 6', () => {
    // A daemon the command starts in its own session keeps stdout open: the build must not wait for it.
    const pidFile = join(work, 'daemon.pid');
    const sign = `openssl pkeyutl -sign -inkey ${join(work, 'ed.pem')} -rawin -in /dev/stdin`;
    const started = Date.now();
    const r = build(
      'daemon',
      '--sign-command',
      `${sign}; setsid sh -c 'echo $$ > ${pidFile}; exec sleep 120' &`,
      '--sign-pubkey',
      join(work, 'ed.pub.pem'),
      '--sign-timeout',
      '2',
    );
    try {
      expect(r.status, describeRun(r)).toBe(6);
      expect(r.stderr).toMatch(/\[SIG_COMMAND_TIMEOUT\].*within 2 s/);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(existsSync(pkg('daemon'))).toBe(false);
    } finally {
      if (existsSync(pidFile)) spawnSync('kill', [readFileSync(pidFile, 'utf8').trim()]);
    }
  });

  it('a signer that fails on the second target leaves no package of the first, nor the folders the build made', () => {
    // Counts its calls in a file; fails from call `failFrom` on.
    const signer = (counter: string, failFrom: number) =>
      `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; ` +
      `if [ $n -ge ${failFrom} ]; then echo "hsm gone" >&2; exit 3; fi; ` +
      `openssl pkeyutl -sign -inkey ${join(work, 'ed.pem')} -rawin -in "$OTA_SIGN_STATEMENT"`;
    const pub = join(work, 'ed.pub.pem');
    // How many signatures one package takes.
    const once = join(work, 'count-once');
    const ok = build('one-target', '--sign-command', signer(once, 1000), '--sign-pubkey', pub);
    expect(ok.status, describeRun(ok)).toBe(0);
    const perPackage = Number(readFileSync(once, 'utf8'));
    expect(perPackage).toBeGreaterThan(0);

    // A second --target joins the first (generic,qualcomm): two packages, the second one's signing fails.
    const r = build(
      join('made', 'by', 'build'),
      '--target',
      'qualcomm',
      '--sign-command',
      signer(join(work, 'count-twice'), perPackage + 1),
      '--sign-pubkey',
      pub,
    );
    expect(r.status, describeRun(r)).toBe(6);
    expect(r.stderr).toMatch(/\[SIG_COMMAND_FAILED\].*hsm gone/);
    expect(Number(readFileSync(join(work, 'count-twice'), 'utf8'))).toBe(perPackage + 1); // the first package was signed
    expect(existsSync(join(work, 'made'))).toBe(false);
  });

  it('needs --sign-pubkey (exit 2)', () => {
    const r = build('nopub', '--sign-command', 'true');
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(/\[SIGN_PUBKEY_REQUIRED\]/);
  });
});
