// PKCS#11 against a real SoftHSM2 token in a temporary folder: keys imported from PEM sign
// byte-identical packages (RSA-2048 and Ed25519: SoftHSM2 2.6 offers CKM_EDDSA), keys generated
// inside the token (keygen --pkcs11) sign packages their exported PEM verifies, and wrong PIN,
// missing object, missing mechanism and an unloadable module are typed refusals. In CI a missing
// softhsm2-util/pkcs11-tool fails the suite; locally it is skipped with a message.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, describeRun, EPOCH, jsonOf, runCli, runCliOk } from '../helpers/run-cli.js';
import { deltaBuildArgs, writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '4711-s3cret';
const tools = ['softhsm2-util', 'pkcs11-tool'].filter((t) => spawnSync(t, ['--help']).error === undefined);
const available = tools.length === 2 && existsSync(MODULE);
if (!available && !process.env.CI) {
  console.warn(
    `SKIPPED pkcs11-softhsm: needs softhsm2-util, pkcs11-tool and ${MODULE} (apt-get install softhsm2 opensc)`,
  );
}

const work = mkdtempSync(join(tmpdir(), 'ota-softhsm-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let pair: ImagePair;
const conf = join(work, 'softhsm2.conf');
const env = { SOFTHSM2_CONF: conf, OTA_PKCS11_MODULE: MODULE, OTA_PKCS11_PIN: PIN };
/** `build` arguments of the pair for generic into `<work>/<out>`, signed with `key`. */
const buildArgs = (out: string, key: string, ...args: string[]) => [
  ...deltaBuildArgs(pair, join(work, out), '--target', 'generic', '--key', key, '-j', '1'),
  ...args,
];
const build = (out: string, key: string, extraEnv: Record<string, string | undefined> = {}, ...args: string[]) =>
  runCli(buildArgs(out, key, ...args), { env: { ...env, ...extraEnv } });
const pkg = (out: string) => join(work, out, 'update-generic.otapkg');
const softhsm = (...args: string[]) =>
  execFileSync('softhsm2-util', args, { env: { ...process.env, SOFTHSM2_CONF: conf } });

describe.skipIf(!available && !process.env.CI)('PKCS#11 keys on a SoftHSM2 token', () => {
  beforeAll(() => {
    expect(available, `CI needs softhsm2-util, pkcs11-tool and ${MODULE} (apt-get install softhsm2 opensc)`).toBe(true);
    mkdirSync(join(work, 'tokens'));
    writeFileSync(
      conf,
      `directories.tokendir = ${join(work, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    softhsm('--init-token', '--free', '--label', 'ota-release', '--pin', PIN, '--so-pin', '12345678');
    pair = writeImagePair(work, 0x11, 96 * 1024);
    for (const [name, alg, id] of [
      ['ed', 'ed25519', '01'],
      ['rsa', 'rsa-2048', '02'],
      ['ec', 'ecdsa-p256', '03'],
    ]) {
      runCliOk(['keygen', '--algorithm', alg!, '-o', join(work, name!)]);
      softhsm(
        '--import',
        join(work, `${name}.pem`),
        '--token',
        'ota-release',
        '--label',
        name!,
        '--id',
        id!,
        '--pin',
        PIN,
      );
    }
    // One more key the RFC 7512 way: by id only, written with pkcs11-tool (private key object only).
    execFileSync('openssl', ['pkey', '-in', join(work, 'rsa.pem'), '-outform', 'DER', '-out', join(work, 'rsa.der')]);
    execFileSync(
      'pkcs11-tool',
      [
        '--module',
        MODULE,
        '--token-label',
        'ota-release',
        '--login',
        '--pin',
        PIN,
        '--write-object',
        join(work, 'rsa.der'),
        '--type',
        'privkey',
        '--id',
        'a1b2',
        '--label',
        'rsa-tool',
      ],
      { env: { ...process.env, SOFTHSM2_CONF: conf } },
    );
  }, 120_000);

  for (const [name, alg] of [
    ['rsa', 'rsa-2048'],
    ['ed', 'ed25519'],
  ]) {
    it(`${alg}: a package signed on the token is byte-identical to the PEM-signed one`, () => {
      const viaPem = runCli([
        'build',
        '--old',
        pair.oldPath,
        '--new',
        pair.newPath,
        '-o',
        join(work, `${name}-pem`),
        '--target',
        'generic',
        '--key',
        join(work, `${name}.pem`),
        '-j',
        '1',
      ]);
      expect(viaPem.status, describeRun(viaPem)).toBe(0);
      const viaToken = build(`${name}-token`, `pkcs11:token=ota-release;object=${name}`);
      expect(viaToken.status, describeRun(viaToken)).toBe(0);
      expect(readFileSync(pkg(`${name}-token`)).equals(readFileSync(pkg(`${name}-pem`)))).toBe(true);
    });
  }

  it('finds a key by id (%-encoded) with the PIN from pin-source=file:, private object only (pkcs11-tool import)', () => {
    writeFileSync(join(work, 'pin.txt'), `${PIN}\n`, { mode: 0o600 });
    const r = build('rsa-id', `pkcs11:token=ota-release;id=%a1%b2?pin-source=file:${join(work, 'pin.txt')}`, {
      OTA_PKCS11_PIN: undefined,
    });
    expect(r.status, describeRun(r)).toBe(0);
    expect(readFileSync(pkg('rsa-id')).equals(readFileSync(pkg('rsa-pem')))).toBe(true);
  });

  it('reads a PIN from a pipe, and refuses an endless or oversized PIN source at its 1 KiB cap without reading it whole', () => {
    // A shell pipe, as a secrets manager's would be: /dev/stdin is a FIFO there.
    const key = 'pkcs11:token=ota-release;object=rsa?pin-source=file:/dev/stdin';
    const piped = spawnSync(
      'sh',
      ['-c', 'printf "%s\\n" "$PIN" | "$0" "$@"', process.execPath, BIN, ...buildArgs('rsa-pipe', key)],
      {
        env: { ...process.env, ...env, OTA_PKCS11_PIN: '', PIN, SOURCE_DATE_EPOCH: EPOCH },
        encoding: 'utf8',
      },
    );
    expect(piped.status, piped.stderr).toBe(0);
    expect(readFileSync(pkg('rsa-pipe')).equals(readFileSync(pkg('rsa-pem')))).toBe(true);
    writeFileSync(join(work, 'big-pin.txt'), 'x'.repeat(64 * 1024));
    for (const source of ['/dev/zero', join(work, 'big-pin.txt')]) {
      const r = build('rsa-endless', `pkcs11:token=ota-release;object=rsa?pin-source=file:${source}`, {
        OTA_PKCS11_PIN: undefined,
      });
      expect(r.status, describeRun(r)).toBe(2);
      expect(r.stderr).toMatch(/PKCS11_BAD_PIN_SOURCE.*is larger than 1024 bytes/);
    }
  });

  it('ecdsa-p256 on the token: raw r||s becomes DER and verifies with the PEM public key', () => {
    const r = build('ec-token', 'pkcs11:token=ota-release;object=ec');
    expect(r.status, describeRun(r)).toBe(0);
    runCliOk(['verify', pkg('ec-token'), '--pubkey', join(work, 'ec.pub.pem')]);
  });

  for (const alg of ['ed25519', 'rsa-2048']) {
    it(`keygen --pkcs11 makes a ${alg} key inside the token that signs packages its exported PEM verifies`, () => {
      const prefix = join(work, `gen-${alg}`);
      const g = runCli(
        [
          'keygen',
          '--algorithm',
          alg,
          '--pkcs11',
          `pkcs11:token=ota-release;object=gen-${alg}`,
          '-o',
          prefix,
          '--json',
        ],
        { env },
      );
      expect(g.status, describeRun(g)).toBe(0);
      expect(existsSync(`${prefix}.pem`)).toBe(false); // the private key never leaves the token
      const uri = jsonOf(g).privateKeyPath as string;
      const r = build(`gen-${alg}`, uri);
      expect(r.status, describeRun(r)).toBe(0);
      const v = jsonOf(runCliOk(['verify', pkg(`gen-${alg}`), '--pubkey', `${prefix}.pub.pem`, '--json']));
      expect(v.keyId).toBe(jsonOf(g).keyId);
      const again = runCli(
        ['keygen', '--algorithm', alg, '--pkcs11', `pkcs11:token=ota-release;object=gen-${alg}`, '-o', `${prefix}-2`],
        { env },
      );
      expect(again.status, describeRun(again)).toBe(2);
      expect(again.stderr).toMatch(/\[KEY_EXISTS\]/);
    });
  }

  it('keygen --pkcs11 with -o in a missing folder fails before the token holds a key (a retry then works)', () => {
    const uri = 'pkcs11:token=ota-release;object=gen-nodir';
    const refused = runCli(
      ['keygen', '--algorithm', 'ecdsa-p256', '--pkcs11', uri, '-o', join(work, 'no-such-dir', 'k')],
      { env },
    );
    expect(refused.status, describeRun(refused)).toBe(8);
    expect(refused.stderr).toMatch(/\[IO_ENOENT\].*no-such-dir/);
    const retry = runCli(['keygen', '--algorithm', 'ecdsa-p256', '--pkcs11', uri, '-o', join(work, 'gen-nodir')], {
      env,
    });
    expect(retry.status, describeRun(retry)).toBe(0);
  });

  it('a wrong PIN is exit 6 PKCS11_PIN_INCORRECT and the PIN is in no output', () => {
    const r = build('bad-pin', 'pkcs11:token=ota-release;object=ed', { OTA_PKCS11_PIN: 'wrong-9921' });
    expect(r.status, describeRun(r)).toBe(6);
    expect(r.stderr).toMatch(/\[PKCS11_PIN_INCORRECT\]/);
    expect(r.stderr + r.stdout).not.toContain('wrong-9921');
    expect(existsSync(pkg('bad-pin'))).toBe(false);
  });

  it('a missing object is exit 6 PKCS11_KEY_NOT_FOUND; a missing token too (PKCS11_TOKEN_NOT_FOUND)', () => {
    const r = build('no-key', 'pkcs11:token=ota-release;object=nope');
    expect(r.status, describeRun(r)).toBe(6);
    expect(r.stderr).toMatch(/\[PKCS11_KEY_NOT_FOUND\].*"nope"/);
    const t = build('no-token', 'pkcs11:token=elsewhere;object=ed');
    expect(t.status, describeRun(t)).toBe(6);
    expect(t.stderr).toMatch(/\[PKCS11_TOKEN_NOT_FOUND\]/);
    expect(r.stderr + t.stderr).not.toContain(PIN);
  });

  it('a mechanism the token lacks is exit 7 PKCS11_MECHANISM_UNSUPPORTED (SoftHSM2 with CKM_EDDSA disabled)', () => {
    const limited = join(work, 'no-eddsa.conf');
    writeFileSync(limited, `${readFileSync(conf, 'utf8')}slots.mechanisms = ALL,-CKM_EDDSA\n`);
    const r = build('no-eddsa', 'pkcs11:token=ota-release;object=ed', { SOFTHSM2_CONF: limited });
    expect(r.status, describeRun(r)).toBe(7);
    expect(r.stderr).toMatch(/\[PKCS11_MECHANISM_UNSUPPORTED\].*CKM_EDDSA/);
  });

  it('an unloadable module is exit 8 PKCS11_MODULE_LOAD_FAILED; no module and no PIN are usage errors', () => {
    const r = build(
      'bad-module',
      'pkcs11:token=ota-release;object=ed',
      {},
      '--pkcs11-module',
      join(work, 'missing.so'),
    );
    expect(r.status, describeRun(r)).toBe(8);
    expect(r.stderr).toMatch(/\[PKCS11_MODULE_LOAD_FAILED\].*missing\.so/);
    const noModule = build('no-module', 'pkcs11:token=ota-release;object=ed', { OTA_PKCS11_MODULE: undefined });
    expect(noModule.status, describeRun(noModule)).toBe(2);
    expect(noModule.stderr).toMatch(/\[PKCS11_NO_MODULE\]/);
    const noPin = build('no-pin', 'pkcs11:token=ota-release;object=ed', { OTA_PKCS11_PIN: undefined });
    expect(noPin.status, describeRun(noPin)).toBe(2);
    expect(noPin.stderr).toMatch(/\[PKCS11_NO_PIN\]/);
  });

  it('rotation across kinds: a token key and a PEM key sign one package; either verifies it', () => {
    runCliOk(['keygen', '--algorithm', 'ed25519', '-o', join(work, 'gen-ed25519-other')]);
    const ok = build('mixed', 'pkcs11:token=ota-release;object=ed', {}, '--key', join(work, 'gen-ed25519-other.pem'));
    expect(ok.status, describeRun(ok)).toBe(0);
    for (const pub of ['ed.pub.pem', 'gen-ed25519-other.pub.pem'])
      runCliOk(['verify', pkg('mixed'), '--pubkey', join(work, pub)]);
  });

  // Last: it adds a second token.
  it('a URI without token= takes the one initialised token (not the free slot); with two it is ambiguous, naming both', () => {
    const one = build('any-token', 'pkcs11:object=ed');
    expect(one.status, describeRun(one)).toBe(0);
    expect(readFileSync(pkg('any-token')).equals(readFileSync(pkg('ed-token')))).toBe(true);
    softhsm('--init-token', '--free', '--label', 'ota-other', '--pin', PIN, '--so-pin', '12345678');
    const two = build('two-tokens', 'pkcs11:object=ed');
    expect(two.status, describeRun(two)).toBe(2);
    expect(two.stderr).toMatch(
      /\[PKCS11_TOKEN_AMBIGUOUS\]: PKCS#11 URI matches 2 tokens \((?:"ota-release" serial \w+, "ota-other" serial \w+|"ota-other" serial \w+, "ota-release" serial \w+)\); add token=<label> or serial=<serial>/,
    );
  });
});
