// Every input path of the real CLI fed truncated, corrupted, oversized or wrong inputs: images,
// packages, keys, target profiles, options, the environment and keygen. Each case asserts the
// exit code AND the error code in the one-line message, and that nothing was written.

import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../helpers/package-bytes.js';
import { ROOT, TEST_KEYS, describeRun, jsonOf, runCli, runCliOk, type CliRun } from '../helpers/run-cli.js';
import { suiteSeed } from '../helpers/seeded-random.js';
import { writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

const SEED = suiteSeed(0xbad1);

let work: string;
let pair: ImagePair;
let goodKey: string;
let pkg: string;
const bad: Record<string, string> = {};

/** The error line(s) of a run: stderr without `warning [` lines. */
function errorLines(r: CliRun): string[] {
  return r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning ['));
}

/** Exit `status`, exactly one `ota-build: error [code]: …` line, and the same code with --json (`code` is a regex). */
function expectError(
  args: string[],
  status: number,
  code: string,
  options: Parameters<typeof runCli>[1] & { json?: boolean } = {},
): CliRun {
  const r = runCli(args, options);
  expect(r.status, describeRun(r)).toBe(status);
  const lines = errorLines(r);
  expect(lines, describeRun(r)).toHaveLength(1);
  expect(lines[0], describeRun(r)).toMatch(new RegExp(`^ota-build: error \\[(${code})\\]: \\S`));
  if (options.json === false) return r; // (the --json twin is checked once per input kind, to save time)
  const j = runCli([...args, '--json'], options);
  expect(j.status, describeRun(j)).toBe(status);
  expect(jsonOf(j).error?.code, describeRun(j)).toMatch(new RegExp(`^(${code})$`));
  return r;
}

/** A commander-level usage error: exit 2, one `ota-build: error [USAGE]: …` line naming `mention`, {error:{code:'USAGE'}} with --json. */
function expectUsage(args: string[], mention: RegExp): void {
  const r = runCli(args);
  expect(r.status, describeRun(r)).toBe(2);
  const lines = errorLines(r);
  expect(lines.length, describeRun(r)).toBeGreaterThanOrEqual(1);
  expect(lines[0], describeRun(r)).toMatch(/^ota-build: error \[USAGE\]: /);
  expect(lines[0], describeRun(r)).toMatch(mention);
  // --json goes right after the command, so it is never taken as a missing option value.
  const j = runCli([args[0]!, '--json', ...args.slice(1)]);
  expect(j.status, describeRun(j)).toBe(2);
  expect(jsonOf(j).error?.code, describeRun(j)).toBe('USAGE');
}

/** A fresh output folder path (not created). */
let outSerial = 0;
function freshOut(): string {
  return join(work, `out-${outSerial++}`);
}

/** No package was written under `dir` (the folder itself may or may not exist). */
function expectNoPackage(dir: string): void {
  const files = existsSync(dir) ? readdirSync(dir) : [];
  expect(files, `files left in ${dir}`).toEqual([]);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-bad-inputs-'));
  pair = writeImagePair(work, SEED, 256 * 1024);
  goodKey = join(work, 'good');
  runCliOk(['keygen', '--algorithm', 'ed25519', '-o', goodKey]);
  runCliOk([
    'build',
    '--old',
    pair.oldPath,
    '--new',
    pair.newPath,
    '-o',
    join(work, 'pkg'),
    '--target',
    'generic',
    '--jobs',
    '1',
    '--key',
    `${goodKey}.pem`,
  ]);
  pkg = join(work, 'pkg', 'update-generic.otapkg');

  // Images.
  bad.missing = join(work, 'no-such.img');
  bad.directory = join(work, 'a-directory');
  mkdirSync(bad.directory);
  bad.empty = join(work, 'empty.img');
  writeFileSync(bad.empty, Buffer.alloc(0));
  // 600 GiB of hole: its block digests alone would take 4.7 GB.
  bad.rawHuge = join(work, 'raw-huge.img');
  writeFileSync(bad.rawHuge, Buffer.alloc(0));
  truncateSync(bad.rawHuge, 600 * 1024 ** 3);
  bad.sparseHeader = join(work, 'sparse-magic.img');
  writeFileSync(bad.sparseHeader, Buffer.concat([Buffer.from([0x3a, 0xff, 0x26, 0xed]), Buffer.alloc(8192, 1)]));
  bad.sparseReal = join(work, 'sparse-real.img');
  bad.sparseOld = join(work, 'sparse-old.img');
  for (const [from, to] of [
    [pair.newPath, bad.sparseReal],
    [pair.oldPath, bad.sparseOld],
  ] as const) {
    const s = spawnSync('img2simg', [from, to]);
    if (s.error || s.status !== 0)
      throw new Error(`img2simg failed (${String(s.error ?? s.stderr)}): apt-get install android-sdk-libsparse-utils`);
  }
  const sparse = readFileSync(bad.sparseReal);
  bad.sparseTruncated = join(work, 'sparse-truncated.img');
  writeFileSync(bad.sparseTruncated, sparse.subarray(0, Math.floor(sparse.length / 2)));
  bad.sparseManyChunks = join(work, 'sparse-many-chunks.img');
  const many = Buffer.from(sparse);
  many.writeUInt32LE(0x7fffffff, 20); // total_chunks
  writeFileSync(bad.sparseManyChunks, many);
  bad.sparseHuge = join(work, 'sparse-huge.img');
  const huge = Buffer.from(sparse);
  huge.writeUInt32LE(0x7fffffff, 16); // total_blks
  writeFileSync(bad.sparseHuge, huge);

  // Keys.
  const der = generateKeyPairSync('ed25519');
  const rsa3072 = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const ed448 = generateKeyPairSync('ed448');
  const good = readFileSync(`${goodKey}.pem`, 'utf8');
  // An RSA key whose modulus no longer matches its factors: it loads, and signs wrongly.
  const rsaJwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const modulus = Buffer.from(rsaJwk.n!, 'base64url');
  modulus[modulus.length - 5]! ^= 1;
  const damagedRsa = createPrivateKey({ key: { ...rsaJwk, n: modulus.toString('base64url') }, format: 'jwk' });
  const keys: Record<string, string | Buffer> = {
    damagedRsaKey: damagedRsa.export({ type: 'pkcs8', format: 'pem' }),
    emptyKey: '',
    truncatedKey: good.slice(0, Math.floor(good.length / 2)),
    headerOnlyKey: '-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n',
    garbageKey: Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 255)),
    derKey: der.privateKey.export({ type: 'pkcs8', format: 'der' }),
    encryptedKey: der.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }),
    rsa3072Key: rsa3072.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    rsa3072Pub: rsa3072.publicKey.export({ type: 'spki', format: 'pem' }),
    secp256k1Key: k1.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    secp256k1Pub: k1.publicKey.export({ type: 'spki', format: 'pem' }),
    ed448Key: ed448.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    hugeKey: Buffer.concat([Buffer.from(good), Buffer.alloc(100 * 1024 - good.length, 0x20)]),
  };
  for (const [name, data] of Object.entries(keys)) {
    bad[name] = join(work, `${name}.pem`);
    writeFileSync(bad[name]!, data);
  }
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('images', () => {
  // [what, exit, error code pattern, which file]. Sparse images are read in place since sparse
  // support landed (this table said exit 7 SPARSE_NOT_SUPPORTED before): broken ones are exit 3.
  const kinds: [string, number, string, string][] = [
    ['a missing file', 8, 'IO_ENOENT', 'missing'],
    // A folder is read as a release since issue 7; an empty one is not a release either.
    ['a directory', 3, 'IMAGE_NOT_FILE|RELEASE_EMPTY', 'directory'],
    ['an empty file', 3, 'IMAGE_EMPTY', 'empty'],
    ['a file with the sparse magic 3a ff 26 ed and a garbage header', 3, 'SPARSE_[A-Z_]+', 'sparseHeader'],
    ['a sparse image cut inside its chunks', 3, 'SPARSE_TRUNCATED', 'sparseTruncated'],
    ['a sparse image whose header declares 2^31 chunks', 3, 'SPARSE_[A-Z_]+', 'sparseManyChunks'],
    ['a sparse image whose header declares a 8 TiB image', 3, 'IMAGE_TOO_LARGE|SPARSE_[A-Z_]+', 'sparseHuge'],
    ['a raw image of 600 GiB (over the 64 GiB input limit)', 3, 'IMAGE_TOO_LARGE', 'rawHuge'],
  ];

  it.each(kinds)('build --new <%s> → exit %i %s', (_what, status, code, key) => {
    const out = freshOut();
    expectError(
      ['build', '--new', bad[key]!, '-o', out, '--target', 'generic', '--jobs', '1', '--key', `${goodKey}.pem`],
      status,
      code,
    );
    expectNoPackage(out);
  });

  it('an image of more blocks than the input limit at a small block size → exit 3 IMAGE_TOO_LARGE, before hashing', () => {
    // 9 GiB of hole is within 64 GiB, but at 512-byte blocks it is 18 Mi blocks (over 16 Mi).
    const generic = JSON.parse(runCliOk(['targets', 'generic', '--json']).stdout) as Record<string, unknown>;
    const profile = join(work, 'small-blocks.json');
    writeFileSync(profile, JSON.stringify({ ...generic, id: 'small-blocks', aliases: [], blockSizeBytes: 512 }));
    const image = join(work, 'nine-gib.img');
    writeFileSync(image, Buffer.alloc(0));
    truncateSync(image, 9 * 1024 ** 3);
    const out = freshOut();
    expectError(['build', '--new', image, '-o', out, '--target', profile, '--jobs', '1'], 3, 'IMAGE_TOO_LARGE');
    expectNoPackage(out);
    rmSync(image);
  });

  it.each(kinds)('build --old <%s> → exit %i %s', (_what, status, code, key) => {
    const out = freshOut();
    expectError(
      [
        'build',
        '--old',
        bad[key]!,
        '--new',
        pair.newPath,
        '-o',
        out,
        '--target',
        'generic',
        '--jobs',
        '1',
        '--key',
        `${goodKey}.pem`,
      ],
      status,
      code,
      { json: false },
    );
    expectNoPackage(out);
  });

  it.each(kinds)('apply --old <%s> → exit %i %s, no output', (_what, status, code, key) => {
    const out = freshOut();
    mkdirSync(out);
    expectError(
      ['apply', pkg, '--old', bad[key]!, '-o', join(out, 'new.img'), '--pubkey', `${goodKey}.pub.pem`],
      status,
      code,
      { json: false },
    );
    expectNoPackage(out);
  });

  it('a valid Android sparse image (img2simg) is accepted as --new and --old, and the package reproduces the raw new image', () => {
    const out = freshOut();
    const r = runCliOk([
      'build',
      '--old',
      bad.sparseOld!,
      '--new',
      bad.sparseReal!,
      '-o',
      out,
      '--target',
      'generic',
      '--jobs',
      '1',
      '--key',
      `${goodKey}.pem`,
      '--json',
    ]);
    const j = jsonOf(r);
    expect(j.target).toMatchObject({
      format: 'sparse',
      sizeBytes: pair.newImage.length,
      sha256: sha256Hex(pair.newImage),
    });
    expect(j.source).toMatchObject({
      format: 'sparse',
      sizeBytes: pair.oldImage.length,
      sha256: sha256Hex(pair.oldImage),
    });
    const applied = join(out, 'applied.img');
    runCliOk([
      'apply',
      join(out, 'update-generic.otapkg'),
      '--old',
      pair.oldPath,
      '-o',
      applied,
      '--pubkey',
      `${goodKey}.pub.pem`,
    ]);
    expect(sha256Hex(readFileSync(applied))).toBe(sha256Hex(pair.newImage));
  });

  it('verify --old <a truncated old image> → exit 5 WRONG_BASE', () => {
    const truncated = join(work, 'truncated-old.img');
    writeFileSync(truncated, pair.oldImage.subarray(0, pair.oldImage.length - 1));
    expectError(['verify', pkg, '--old', truncated, '--pubkey', `${goodKey}.pub.pem`], 5, 'WRONG_BASE');
  });

  it('a file smaller than a block and an odd-sized image still build and apply exactly', () => {
    for (const size of [3, 4096 * 3 + 17]) {
      const img = join(work, `odd-${size}.img`);
      writeFileSync(img, pair.newImage.subarray(0, size));
      const out = freshOut();
      runCliOk([
        'build',
        '--old',
        pair.oldPath,
        '--new',
        img,
        '-o',
        out,
        '--target',
        'generic',
        '--jobs',
        '1',
        '--key',
        `${goodKey}.pem`,
      ]);
      const applied = join(out, 'applied.img');
      runCliOk([
        'apply',
        join(out, 'update-generic.otapkg'),
        '--old',
        pair.oldPath,
        '-o',
        applied,
        '--pubkey',
        `${goodKey}.pub.pem`,
      ]);
      expect(sha256Hex(readFileSync(applied)), `size ${size}`).toBe(sha256Hex(pair.newImage.subarray(0, size)));
    }
  });
});

describe('package files', () => {
  const shortFile = (length: number): string => {
    const p = join(work, `short-${length}.otapkg`);
    writeFileSync(p, readFileSync(pkg).subarray(0, length));
    return p;
  };

  it.each([
    ['a missing file', 8, 'IO_ENOENT', () => bad.missing!],
    ['an empty file', 4, 'PKG_TRUNCATED', () => bad.empty!],
    ['a 63-byte file (shorter than the header)', 4, 'PKG_TRUNCATED', () => shortFile(63)],
    ['an image (not a package)', 4, 'PKG_BAD_MAGIC', () => pair.oldPath],
    ['a PEM key', 4, 'PKG_BAD_MAGIC', () => `${goodKey}.pub.pem`],
    // Recorded behaviour: a directory is an I/O error (EISDIR), not a format error.
    ['a directory', 8, 'IO_EISDIR', () => bad.directory!],
    // build -o's folder: the message names the package in it.
    ['a build output folder', 8, 'IO_EISDIR', () => dirname(pkg)],
  ])('verify / inspect / apply <%s> → exit %i %s', (_what, status, code, pathOf) => {
    expectError(['verify', pathOf(), '--pubkey', `${goodKey}.pub.pem`], status, code);
    expectError(['inspect', pathOf(), '--pubkey', `${goodKey}.pub.pem`], status, code, { json: false });
    const out = freshOut();
    mkdirSync(out);
    expectError(
      ['apply', pathOf(), '--old', pair.oldPath, '-o', join(out, 'new.img'), '--pubkey', `${goodKey}.pub.pem`],
      status,
      code,
      { json: false },
    );
    expectNoPackage(out);
  });

  it('a folder given as the package names the packages it holds', () => {
    const r = runCli(['inspect', dirname(pkg)]);
    expect(r.status, describeRun(r)).toBe(8);
    expect(r.stderr).toMatch(/IO_EISDIR.*it is a folder; pass a package in it \(update-generic\.otapkg\)/);
    const empty = runCli(['verify', bad.directory!]);
    expect(empty.stderr).toMatch(/IO_EISDIR.*it is a folder; a package is a file/);
  });
});

describe('keys', () => {
  const build = (key: string) => [
    'build',
    '--old',
    pair.oldPath,
    '--new',
    pair.newPath,
    '-o',
    join(work, 'key-out'),
    '--target',
    'generic',
    '--jobs',
    '1',
    '--key',
    key,
  ];

  it('keys in OpenSSH or DER form are named with the command that converts them; --key beside another key is KEY_INVALID', () => {
    rmSync(join(work, 'key-out'), { recursive: true, force: true });
    const file = (name: string, content: string | Buffer) => {
      writeFileSync(join(work, name), content);
      return join(work, name);
    };
    // Only the form matters: an OpenSSH private key's armour (its body begins "openssh-key-v1").
    const sshPrivate = file(
      'id_ed25519',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\n-----END OPENSSH PRIVATE KEY-----\n',
    );
    const sshPublic = file(
      'id_ed25519.pub',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNvZGUgcmV2aWV3IGZpeHR1cmUga2V5IGJ5dGVzIQ== ota@test\n',
    );
    const der = (name: string, ...args: string[]) => {
      execFileSync('openssl', ['pkey', '-in', `${goodKey}.pem`, '-outform', 'DER', ...args, '-out', join(work, name)]);
      return join(work, name);
    };
    const derPrivate = der('key.der');
    const derPublic = der('key.pub.der', '-pubout');
    expect(expectError(build(sshPrivate), 6, 'KEY_INVALID').stderr).toContain(
      'is an OpenSSH private key, which is not read (PEM only); convert it: ssh-keygen -p -m PKCS8',
    );
    expect(expectError(build(sshPublic), 6, 'KEY_NOT_PRIVATE').stderr).toContain('is an OpenSSH public key');
    expect(expectError(build(derPrivate), 6, 'KEY_INVALID').stderr).toContain(
      `convert it: openssl pkey -inform DER -in ${derPrivate} -out key.pem`,
    );
    const verify = (key: string) => expectError(['verify', pkg, '--pubkey', key], 6, 'KEY_INVALID', { json: false });
    expect(verify(sshPublic).stderr).toContain('convert it: ssh-keygen -e -m PKCS8');
    expect(verify(derPublic).stderr).toContain(`openssl pkey -pubin -inform DER -in ${derPublic}`);
    // --key with another key's certificate (or public key) beside it: which key is meant is unclear.
    const other = join(work, 'other.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ED25519', '-out', other]);
    const otherCert = join(work, 'other.crt');
    execFileSync('openssl', ['req', '-x509', '-key', other, '-subj', '/CN=o', '-days', '1', '-out', otherCert]);
    const mixed = file('mixed-key.pem', Buffer.concat([readFileSync(`${goodKey}.pem`), readFileSync(otherCert)]));
    expect(expectError(build(mixed), 6, 'KEY_INVALID').stderr).toContain(
      'holds a private key and the public key or certificate of another key',
    );
    expectNoPackage(join(work, 'key-out'));
    // Its own public key beside it is one key: builds.
    const own = file(
      'own-pair-key.pem',
      Buffer.concat([readFileSync(`${goodKey}.pem`), readFileSync(`${goodKey}.pub.pem`)]),
    );
    runCliOk(build(own));
  });

  it.each([
    ['a missing file', 'missing', 8, 'IO_ENOENT'],
    ['a directory', 'directory', 8, 'IO_EISDIR'],
    ['an empty file', 'emptyKey', 6, 'KEY_INVALID'],
    ['a truncated PEM', 'truncatedKey', 6, 'KEY_INVALID'],
    ['a PEM with no body', 'headerOnlyKey', 6, 'KEY_INVALID'],
    ['binary garbage', 'garbageKey', 6, 'KEY_INVALID'],
    ['a DER (not PEM) key', 'derKey', 6, 'KEY_INVALID'],
    ['a passphrase-protected PEM', 'encryptedKey', 6, 'KEY_INVALID'],
    ['a damaged RSA key (its modulus is not the product of its factors)', 'damagedRsaKey', 6, 'KEY_INVALID'],
    ['an RSA-3072 key', 'rsa3072Key', 7, 'KEY_UNSUPPORTED'],
    ['a secp256k1 key', 'secp256k1Key', 7, 'KEY_UNSUPPORTED'],
    ['an Ed448 key', 'ed448Key', 7, 'KEY_UNSUPPORTED'],
    ['a 100 KiB file', 'hugeKey', 6, 'KEY_INVALID'],
  ])('build --key <%s> → exit %i %s, no package', (_what, key, status, code) => {
    rmSync(join(work, 'key-out'), { recursive: true, force: true });
    expectError(build(bad[key]!), status, code);
    expectNoPackage(join(work, 'key-out'));
  });

  it('a passphrase-protected or damaged key says so, before any work (not an OpenSSL message, not after the build)', () => {
    rmSync(join(work, 'key-out'), { recursive: true, force: true });
    const encrypted = expectError(build(bad.encryptedKey!), 6, 'KEY_INVALID');
    expect(encrypted.stderr).toMatch(
      /is a passphrase-protected private key, which ota-build does not read: keep the key on a PKCS#11 token/,
    );
    expect(
      expectError(['verify', pkg, '--pubkey', bad.encryptedKey!], 6, 'KEY_INVALID', { json: false }).stderr,
    ).toMatch(/passphrase-protected/);
    const damaged = expectError(build(bad.damagedRsaKey!), 6, 'KEY_INVALID');
    expect(damaged.stderr).toMatch(
      /is a damaged private key: a signature it makes does not verify with its own public key/,
    );
    expectNoPackage(join(work, 'key-out'));
  });

  it('--key <word>=<path> where the word is no target and no such file exists → exit 2 BAD_OPTION, not a missing key file', () => {
    const r = expectError(build(`qualcom=${goodKey}.pem`), 2, 'BAD_OPTION');
    expect(r.stderr).toMatch(
      /--key qualcom=.*: qualcom is no target \(generic, qualcomm, mediatek, unisoc\) and no file is named/,
    );
  });

  it('an empty key file says it is empty (not an OpenSSL decoder message)', () => {
    rmSync(join(work, 'key-out'), { recursive: true, force: true });
    expect(expectError(build(bad.emptyKey!), 6, 'KEY_INVALID').stderr).toMatch(
      /is empty; a PEM key is text starting with -----BEGIN/,
    );
    expect(expectError(['verify', pkg, '--pubkey', bad.emptyKey!], 6, 'KEY_INVALID', { json: false }).stderr).toMatch(
      /is empty/,
    );
  });

  it('build --key <a public key> → exit 6 KEY_NOT_PRIVATE', () => {
    rmSync(join(work, 'key-out'), { recursive: true, force: true });
    const r = expectError(build(`${goodKey}.pub.pem`), 6, 'KEY_NOT_PRIVATE');
    expect(r.stderr).toContain('public key');
    expectNoPackage(join(work, 'key-out'));
  });

  it('a certificate or a PKCS#1 public key as --key is KEY_NOT_PRIVATE; a file of two private keys (or, for --pubkey, two keys or a certificate chain) is KEY_INVALID; a certificate of the signing key verifies', () => {
    rmSync(join(work, 'key-out'), { recursive: true, force: true });
    const pem = (name: string, ...args: string[]) => {
      execFileSync('openssl', args, { stdio: 'ignore' });
      return join(work, name);
    };
    const rsa = pem(
      'k1.pem',
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-out',
      join(work, 'k1.pem'),
    );
    const cert = pem(
      'k1.crt',
      'req',
      '-x509',
      '-key',
      rsa,
      '-subj',
      '/CN=ota',
      '-days',
      '1',
      '-out',
      join(work, 'k1.crt'),
    );
    const pkcs1 = pem('k1.rsapub', 'rsa', '-in', rsa, '-RSAPublicKey_out', '-out', join(work, 'k1.rsapub'));
    expect(expectError(build(cert), 6, 'KEY_NOT_PRIVATE').stderr).toContain(
      'is a certificate (it holds a public key only)',
    );
    expect(expectError(build(pkcs1), 6, 'KEY_NOT_PRIVATE').stderr).toContain('is a public key');
    const two = join(work, 'two-keys.pem');
    writeFileSync(two, Buffer.concat([readFileSync(rsa), readFileSync(`${goodKey}.pem`)]));
    expect(expectError(build(two), 6, 'KEY_INVALID').stderr).toContain('holds 2 private keys; a key file holds one');
    const twoPub = join(work, 'two-pub.pem');
    writeFileSync(twoPub, Buffer.concat([readFileSync(`${goodKey}.pub.pem`), readFileSync(`${goodKey}.pub.pem`)]));
    const v = expectError(['verify', pkg, '--pubkey', twoPub], 6, 'KEY_INVALID', { json: false });
    expect(v.stderr).toContain('holds 2 keys, and only one would be read');
    // One key's private and public PEM in one file are one key: accepted.
    const pair = join(work, 'pair.pem');
    writeFileSync(pair, Buffer.concat([readFileSync(`${goodKey}.pem`), readFileSync(`${goodKey}.pub.pem`)]));
    runCliOk(['verify', pkg, '--pubkey', pair]);
    // A certificate of the signing key pins its key; a chain would pin only its first one's.
    const own = pem(
      'own.crt',
      'req',
      '-x509',
      '-key',
      `${goodKey}.pem`,
      '-subj',
      '/CN=ota',
      '-days',
      '1',
      '-out',
      join(work, 'own.crt'),
    );
    runCliOk(['verify', pkg, '--pubkey', own]);
    const chain = join(work, 'chain.pem');
    writeFileSync(chain, Buffer.concat([readFileSync(own), readFileSync(cert)]));
    expect(expectError(['verify', pkg, '--pubkey', chain], 6, 'KEY_INVALID', { json: false }).stderr).toContain(
      'holds 2 certificates (a chain?), and only the first one',
    );
    // OpenSSL's other certificate labels count as certificates too.
    const relabelled = join(work, 'chain-x509.pem');
    writeFileSync(relabelled, readFileSync(chain, 'latin1').replaceAll(' CERTIFICATE-----', ' X509 CERTIFICATE-----'));
    expect(expectError(['verify', pkg, '--pubkey', relabelled], 6, 'KEY_INVALID', { json: false }).stderr).toContain(
      'holds 2 certificates (a chain?)',
    );
    const trusted = pem('own.trusted', 'x509', '-in', own, '-trustout', '-out', join(work, 'own.trusted'));
    expect(expectError(['verify', pkg, '--pubkey', trusted], 6, 'KEY_INVALID', { json: false }).stderr).toContain(
      'is an OpenSSL TRUSTED CERTIFICATE',
    );
    // A key and a certificate of another key: either could be meant. Its own private key and
    // certificate together are one key.
    const mixed = join(work, 'mixed.pem');
    writeFileSync(mixed, Buffer.concat([readFileSync(cert), readFileSync(`${goodKey}.pub.pem`)]));
    expect(expectError(['verify', pkg, '--pubkey', mixed], 6, 'KEY_INVALID', { json: false }).stderr).toContain(
      'holds 2 different keys',
    );
    const ownPair = join(work, 'own-pair.pem');
    writeFileSync(ownPair, Buffer.concat([readFileSync(own), readFileSync(`${goodKey}.pem`)]));
    runCliOk(['verify', pkg, '--pubkey', ownPair]);
    expectNoPackage(join(work, 'key-out'));
  });

  it.each([
    ['a missing file', 'missing', 8, 'IO_ENOENT'],
    ['an empty file', 'emptyKey', 6, 'KEY_INVALID'],
    ['a truncated PEM', 'truncatedKey', 6, 'KEY_INVALID'],
    ['binary garbage', 'garbageKey', 6, 'KEY_INVALID'],
    ['an RSA-3072 public key', 'rsa3072Pub', 7, 'KEY_UNSUPPORTED'],
    ['a secp256k1 public key', 'secp256k1Pub', 7, 'KEY_UNSUPPORTED'],
    ['a 100 KiB file', 'hugeKey', 6, 'KEY_INVALID'],
  ])('verify --pubkey <%s> → exit %i %s', (_what, key, status, code) => {
    expectError(['verify', pkg, '--pubkey', bad[key]!], status, code, { json: false });
  });

  it('verify/apply --pubkey <the private key> works (the public key is derived from it) — recorded behaviour', () => {
    const r = runCliOk(['verify', pkg, '--pubkey', `${goodKey}.pem`, '--json']);
    expect(jsonOf(r).ok).toBe(true);
    const out = freshOut();
    mkdirSync(out);
    runCliOk(['apply', pkg, '--old', pair.oldPath, '-o', join(out, 'new.img'), '--pubkey', `${goodKey}.pem`]);
    expect(sha256Hex(readFileSync(join(out, 'new.img')))).toBe(sha256Hex(pair.newImage));
  });
});

describe('target profiles', () => {
  const base = JSON.parse(readFileSync(join(ROOT, 'profiles', 'generic.json'), 'utf8')) as Record<string, unknown>;
  const profile = (name: string, content: string): string => {
    const p = join(work, `${name}.json`);
    writeFileSync(p, content);
    return p;
  };
  const variant = (name: string, edit: (o: Record<string, unknown>) => void): string => {
    const o = structuredClone(base);
    o.id = 'myco';
    edit(o);
    return profile(name, JSON.stringify(o, null, 2));
  };
  const buildWith = (target: string, out: string) => [
    'build',
    '--new',
    pair.newPath,
    '-o',
    out,
    '--target',
    target,
    '--jobs',
    '1',
    '--key',
    `${goodKey}.pem`,
  ];

  it.each([
    ['invalid JSON', 2, 'PROFILE_INVALID', () => profile('invalid', '{ "id": "myco", ')],
    ['an empty file', 2, 'PROFILE_INVALID', () => profile('empty-profile', '')],
    ['a JSON array', 2, 'PROFILE_INVALID', () => profile('array', '[]')],
    ['a missing field', 2, 'PROFILE_INVALID', () => variant('missing-field', (o) => delete o.storage)],
    ['an unknown field', 2, 'PROFILE_INVALID', () => variant('unknown-field', (o) => (o.colour = 'blue'))],
    [
      'block size 3000 (not a power of two)',
      2,
      'PROFILE_INVALID',
      () => variant('bs-3000', (o) => (o.blockSizeBytes = 3000)),
    ],
    ['block size 256 (too small)', 2, 'PROFILE_INVALID', () => variant('bs-256', (o) => (o.blockSizeBytes = 256))],
    [
      'block size "4096" (a string)',
      2,
      'PROFILE_INVALID',
      () => variant('bs-string', (o) => (o.blockSizeBytes = '4096')),
    ],
    ['an unknown codec', 2, 'PROFILE_INVALID', () => variant('codec', (o) => (o.allowedCodecs = ['lz4']))],
    ['a bad id', 2, 'PROFILE_INVALID', () => variant('bad-id', (o) => (o.id = 'My SoC'))],
    [
      'an oversized file (70 KiB)',
      2,
      'PROFILE_INVALID',
      () => profile('huge', JSON.stringify(base) + ' '.repeat(70 * 1024)),
    ],
    ['a missing file', 8, 'IO_ENOENT', () => join(work, 'no-such-profile.json')],
    [
      'a folder (the same I/O error as a folder given as a key or a package)',
      8,
      'IO_EISDIR',
      () => {
        const dir = join(work, 'profile-folder.json');
        mkdirSync(dir, { recursive: true });
        return dir;
      },
    ],
    ['no maxStashBytes', 2, 'PROFILE_INVALID', () => variant('no-stash', (o) => delete o.maxStashBytes)],
    [
      "a built-in target's alias as its id (a device reads qcom as qualcomm)",
      2,
      'PROFILE_INVALID',
      () => variant('id-qcom', (o) => (o.id = 'qcom')),
    ],
    [
      "a built-in target's name as its alias (--key qualcomm=… would sign it)",
      2,
      'PROFILE_INVALID',
      () => variant('alias-qualcomm', (o) => (o.aliases = ['mine', 'qualcomm'])),
    ],
    ['a negative maxStashBytes', 2, 'PROFILE_INVALID', () => variant('neg-stash', (o) => (o.maxStashBytes = -1))],
    ['maxStashBytes over 2^40', 2, 'PROFILE_INVALID', () => variant('big-stash', (o) => (o.maxStashBytes = 2 ** 41))],
  ])('--target <profile with %s> → exit %i %s, no package', (_what, status, code, pathOf) => {
    const out = freshOut();
    const r = expectError(buildWith(pathOf(), out), status, code);
    if (code === 'PROFILE_INVALID') expect(r.stderr, 'the message names the profile').toContain('.json');
    expectNoPackage(out);
  });

  it('two different profiles with one id → exit 2 DUPLICATE_TARGET in either order; the same profile twice is one target', () => {
    const custom = variant('generic-strict', (o) => {
      o.id = 'generic';
      o.aliases = [];
      o.allowedCodecs = ['none', 'gzip'];
    });
    for (const list of [`generic,${custom}`, `${custom},generic`]) {
      const out = freshOut();
      const r = expectError(buildWith(list, out), 2, 'DUPLICATE_TARGET');
      expect(r.stderr).toContain('"generic"');
      expectNoPackage(out);
    }
    const same = profile('generic-copy', readFileSync(join(ROOT, 'profiles', 'generic.json'), 'utf8'));
    const r = runCli([...buildWith(`generic,${same}`, freshOut()), '--json']);
    expect(r.status, describeRun(r)).toBe(0);
    expect(jsonOf(r).packages.map((p: { target: string }) => p.target)).toEqual(['generic']);
  });

  it('names what is wrong: a missing field, a built-in name taken', () => {
    const missing = expectError(
      buildWith(
        variant('no-vendor', (o) => delete o.vendor),
        freshOut(),
      ),
      2,
      'PROFILE_INVALID',
    );
    expect(missing.stderr).toMatch(/no-vendor\.json: vendor is missing \(every field but maxFormatMinor is required\)/);
    const id = expectError(
      buildWith(
        variant('id-snapdragon', (o) => (o.id = 'snapdragon')),
        freshOut(),
      ),
      2,
      'PROFILE_INVALID',
    );
    expect(id.stderr).toMatch(/id "snapdragon" is an alias of the built-in target qualcomm; choose another id/);
    const alias = expectError(
      buildWith(
        variant('alias-mtk', (o) => (o.aliases = ['mtk'])),
        freshOut(),
      ),
      2,
      'PROFILE_INVALID',
    );
    expect(alias.stderr).toMatch(/alias "mtk" names the built-in target mediatek; choose another alias/);
    // --differ for a profile without DIFF says so, not "allowed: " and an empty list.
    const noDiff = variant('no-diff', (o) => {
      o.allowedOperations = ['zero', 'copy', 'replace'];
      o.allowedDiffers = [];
    });
    const differ = expectError([...buildWith(noDiff, freshOut()), '--differ', 'bsdiff'], 2, 'DIFFER_NOT_ALLOWED');
    expect(differ.stderr).toMatch(
      /target myco allows no differ \(its profile allows no diff operation\): drop --differ/,
    );
    // A built-in profile's own file (id and aliases its own) is that target.
    const copy = profile('qualcomm-copy', readFileSync(join(ROOT, 'profiles', 'qualcomm.json'), 'utf8'));
    expect(runCli([...buildWith(copy, freshOut())]).status).toBe(0);
  });

  it('targets whose default partition names differ → exit 2 PARTITION_NAME_DIFFERS before any work; --partition-name settles it', () => {
    const vendor = variant('vendor-default', (o) => (o.defaultPartitionName = 'vendor'));
    const out = freshOut();
    const r = expectError(buildWith(`${vendor},generic`, out), 2, 'PARTITION_NAME_DIFFERS');
    expect(r.stderr).toMatch(/myco: vendor, generic: system\); choose one with --partition-name/);
    expectNoPackage(out);
    const named = jsonOf(runCliOk([...buildWith(`${vendor},generic`, out), '--partition-name', 'system', '--json']));
    expect(named.packages.map((p: { target: string }) => p.target)).toEqual(['myco', 'generic']);
    expect(named.partitions.map((p: { name: string }) => p.name)).toEqual(['system']);
  });

  it('a profile saved with a byte-order mark (as Windows editors save JSON) is read as JSON', () => {
    const withBom = profile('bom', `\uFEFF${JSON.stringify({ ...base, id: 'myco-bom' })}`);
    const out = freshOut();
    const r = jsonOf(runCliOk([...buildWith(withBom, out), '--json']));
    expect(r.packages.map((p: { target: string }) => p.target)).toEqual(['myco-bom']);
  });

  it('a profile with another block size cannot be mixed with a built-in target → exit 2 MIXED_BLOCK_SIZES', () => {
    const p = variant('mixed', (o) => (o.blockSizeBytes = 1024));
    const out = freshOut();
    expectError(buildWith(`generic,${p}`, out), 2, 'MIXED_BLOCK_SIZES');
    expectNoPackage(out);
  });

  it('a valid custom profile works end to end (build, inspect, verify --device-target, apply)', () => {
    const p = variant('myco-valid', (o) => {
      o.vendor = 'MyCo';
      o.defaultPlatform = 'myco-x1';
      o.storage = 'nand';
      o.blockSizeBytes = 1024;
      o.maxOperationBytes = 1024 * 1024;
      o.defaultSignatureAlgorithm = 'ecdsa-p256';
      o.allowedCodecs = ['none', 'zstd'];
      o.partitionLayout = 'myco-gpt';
      o.defaultPartitionName = 'super_sys';
    });
    const out = freshOut();
    // Signed with the ecdsa-p256 test key (the profile's default algorithm).
    const r = runCliOk([
      'build',
      '--old',
      pair.oldPath,
      '--new',
      pair.newPath,
      '-o',
      out,
      '--target',
      p,
      '--jobs',
      '1',
      '--json',
    ]);
    const built = jsonOf(r);
    expect(
      built.packages.map((x: { target: string; signatureAlgorithm: string }) => [x.target, x.signatureAlgorithm]),
    ).toEqual([['myco', 'ecdsa-p256']]);
    const file = join(out, 'update-myco.otapkg');
    const info = jsonOf(runCliOk(['inspect', file, '--json']));
    expect(info.target).toMatchObject({
      targetId: 'myco',
      vendor: 'MyCo',
      platform: 'myco-x1',
      storage: 'nand',
      blockSizeBytes: 1024,
      partitionLayout: 'myco-gpt',
    });
    expect(info.partitions[0].name).toBe('super_sys');
    expect(
      Object.keys(info.partitions[0].byEncoding)
        .filter((k) => k.startsWith('codec:'))
        .every((k) => ['codec:none', 'codec:zstd'].includes(k)),
    ).toBe(true);
    runCliOk(['verify', file, '--device-target', 'myco', '--old', pair.oldPath]);
    expectError(['verify', file, '--device-target', 'generic'], 5, 'WRONG_TARGET');
    runCliOk(['apply', file, '--old', pair.oldPath, '-o', join(out, 'new.img'), '--device-target', 'myco']);
    expect(sha256Hex(readFileSync(join(out, 'new.img')))).toBe(sha256Hex(pair.newImage));
  });

  it('--key <custom target id>=<pem> gives a custom-profile target its own key (README: --key <target>=<pem>)', () => {
    const p = variant('myco-keyed', () => undefined);
    const out = freshOut();
    const r = runCli([
      'build',
      '--new',
      pair.newPath,
      '-o',
      out,
      '--target',
      `generic,${p}`,
      '--jobs',
      '1',
      '--key',
      `myco=${goodKey}.pem`,
      '--key',
      `generic=${goodKey}.pem`,
      '--json',
    ]);
    expect(r.status, describeRun(r)).toBe(0);
    runCliOk(['verify', join(out, 'update-myco.otapkg'), '--pubkey', `${goodKey}.pub.pem`]);
  });
});

describe('options', () => {
  const build = (...extra: string[]) => [
    'build',
    '--new',
    pair.newPath,
    '-o',
    join(work, 'opt-out'),
    '--jobs',
    '1',
    ...extra,
  ];

  it.each([
    ['--codec foo', ['--codec', 'foo', '--target', 'generic'], 'BAD_CODEC'],
    ['--differ foo', ['--differ', 'foo', '--target', 'generic'], 'BAD_DIFFER'],
    ['--level 99 --codec zstd', ['--level', '99', '--codec', 'zstd', '--target', 'generic'], 'BAD_LEVEL'],
    ['--level 20 --codec gzip', ['--level', '20', '--codec', 'gzip', '--target', 'generic'], 'BAD_LEVEL'],
    ['--level 1.5 --codec zstd', ['--level', '1.5', '--codec', 'zstd', '--target', 'generic'], 'BAD_OPTION'],
    ['--level 5 without --codec', ['--level', '5', '--target', 'generic'], 'LEVEL_NEEDS_CODEC'],
    ['--jobs 0', ['--jobs', '0', '--target', 'generic'], 'BAD_OPTION'],
    ['--jobs 257', ['--jobs', '257', '--target', 'generic'], 'BAD_OPTION'],
    ['--jobs two', ['--jobs', 'two', '--target', 'generic'], 'BAD_OPTION'],
    ['--timestamp abc', ['--timestamp', 'abc', '--target', 'generic'], 'BAD_OPTION'],
    ['--timestamp 2^40+1', ['--timestamp', String(2 ** 40 + 1), '--target', 'generic'], 'BAD_OPTION'],
    ['--target nosuch', ['--target', 'nosuch'], 'UNKNOWN_TARGET'],
    ['--target ""', ['--target', ''], 'BAD_OPTION'],
    ['--target ,', ['--target', ','], 'UNKNOWN_TARGET'],
    ['--codec brotli --target unisoc', ['--codec', 'brotli', '--target', 'unisoc'], 'CODEC_NOT_ALLOWED'],
    [
      '--codec brotli --target qualcomm,unisoc',
      ['--codec', 'brotli', '--target', 'qualcomm,unisoc'],
      'CODEC_NOT_ALLOWED',
    ],
    [
      'five --key (a package carries at most four signatures)',
      ['--key', 'a.pem', '--key', 'b.pem', '--key', 'c.pem', '--key', 'd.pem', '--key', 'e.pem', '--target', 'generic'],
      'TOO_MANY_KEYS',
    ],
  ])('build %s → exit 2 %s, no package', (_what, extra, code) => {
    rmSync(join(work, 'opt-out'), { recursive: true, force: true });
    const r = expectError(build(...extra), 2, code);
    expect(r.stderr.length, 'a message that says what is wrong').toBeGreaterThan(30);
    expectNoPackage(join(work, 'opt-out'));
  });

  it.each([
    ['an unknown option', ['build', '--new', 'x.img', '-o', 'out', '--bogus'], /unknown option '--bogus'/],
    [
      'a missing required option (--new)',
      ['build', '-o', 'out'],
      /required option '--new <img\|release>' not specified/,
    ],
    [
      'a missing required option (-o)',
      ['apply', 'x.otapkg'],
      /required option '-o, --out <img\|dev\|dir>' not specified/,
    ],
    ['a missing argument', ['verify'], /missing required argument 'package'/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['keygen without --algorithm', ['keygen', '-o', 'k'], /required option '--algorithm <alg>' not specified/],
    [
      'an option missing its value',
      ['build', '--new', 'x.img', '-o', 'out', '--codec'],
      /option '--codec <name>' argument missing/,
    ],
  ])('%s → exit 2 with a clear message', (_what, args, mention) => {
    expectUsage(args, mention);
  });
});

describe('environment', () => {
  const build = (out: string) => [
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
    `${goodKey}.pem`,
  ];

  it.each([['abc'], ['-1'], ['1.5'], ['1e9'], [' 1700000000']])(
    'SOURCE_DATE_EPOCH=%j → exit 2 BAD_OPTION, no package',
    (value) => {
      const out = freshOut();
      const r = expectError(build(out), 2, 'BAD_OPTION', { env: { SOURCE_DATE_EPOCH: value } });
      expect(r.stderr).toContain('SOURCE_DATE_EPOCH');
      expectNoPackage(out);
    },
  );

  it.each([['9007199254740993'], ['18446744073709551616'], ['99999999999999999999']])(
    'SOURCE_DATE_EPOCH=%s (not representable) → exit 2 BAD_OPTION instead of a silently different timestamp',
    (value) => {
      const out = freshOut();
      const r = runCli(build(out), { env: { SOURCE_DATE_EPOCH: value } });
      const written =
        r.status === 0
          ? jsonOf(
              runCliOk(['inspect', join(out, 'update-generic.otapkg'), '--json', '--pubkey', `${goodKey}.pub.pem`]),
            ).timestampSeconds
          : undefined;
      expect(
        { status: r.status, code: errorLines(r)[0]?.match(/\[([A-Z_]+)\]/)?.[1] },
        `${describeRun(r)}; package timestamp written: ${String(written)}`,
      ).toEqual({ status: 2, code: 'BAD_OPTION' });
    },
  );

  it('SOURCE_DATE_EPOCH sets the timestamp; --timestamp overrides it; empty or 0 means none (NO_TIMESTAMP warning)', () => {
    const out = freshOut();
    runCliOk(build(out), { env: { SOURCE_DATE_EPOCH: '1234567890' } });
    const info = (dir: string) =>
      jsonOf(runCliOk(['inspect', join(dir, 'update-generic.otapkg'), '--json', '--pubkey', `${goodKey}.pub.pem`]));
    expect(info(out).timestampSeconds).toBe(1234567890);
    const out2 = freshOut();
    runCliOk([...build(out2), '--timestamp', '42'], { env: { SOURCE_DATE_EPOCH: 'abc' } });
    expect(info(out2).timestampSeconds).toBe(42);
    const out3 = freshOut();
    const r = runCliOk(build(out3), { env: { SOURCE_DATE_EPOCH: '' } });
    expect(r.stderr).toMatch(/^warning \[NO_TIMESTAMP\]: /m);
    expect(info(out3).timestampSeconds).toBe(0);
    // 0 given on purpose is no timestamp to a device either: the same warning, an error with --strict.
    const out4 = freshOut();
    const zero = runCliOk([...build(out4), '--timestamp', '0']);
    expect(zero.stderr).toMatch(
      /^warning \[NO_TIMESTAMP\]: the package timestamp is 0 \(--timestamp 0 or SOURCE_DATE_EPOCH=0\)/m,
    );
    expect(info(out4).timestampSeconds).toBe(0);
    const out5 = freshOut();
    expectError([...build(out5), '--strict'], 2, 'STRICT_NO_TIMESTAMP', { env: { SOURCE_DATE_EPOCH: '0' } });
    expect(existsSync(join(out5, 'update-generic.otapkg'))).toBe(false);
  });
});

describe('keygen', () => {
  it('an unknown algorithm → exit 2 BAD_ALGORITHM, nothing written', () => {
    const prefix = join(work, 'kg-unknown');
    for (const alg of ['rsa-3072', 'secp256k1', 'ED25519x']) {
      expectError(['keygen', '--algorithm', alg, '-o', prefix], 2, 'BAD_ALGORITHM');
    }
    expectError(['keygen', '--algorithm', '', '-o', prefix], 2, 'BAD_OPTION'); // empty: refused as such
    expect(existsSync(`${prefix}.pem`) || existsSync(`${prefix}.pub.pem`)).toBe(false);
  });

  it('refuses to overwrite either file → exit 2 KEY_EXISTS, existing files untouched, nothing new written', () => {
    const prefix = join(work, 'kg-exists');
    runCliOk(['keygen', '--algorithm', 'ed25519', '-o', prefix]);
    const before = [readFileSync(`${prefix}.pem`), readFileSync(`${prefix}.pub.pem`)];
    expectError(['keygen', '--algorithm', 'ed25519', '-o', prefix], 2, 'KEY_EXISTS');
    expect(readFileSync(`${prefix}.pem`).equals(before[0]!)).toBe(true);
    expect(readFileSync(`${prefix}.pub.pem`).equals(before[1]!)).toBe(true);
    // Only the public file exists: still refused, and no private key is created beside it.
    const half = join(work, 'kg-half');
    writeFileSync(`${half}.pub.pem`, 'placeholder\n');
    expectError(['keygen', '--algorithm', 'ed25519', '-o', half], 2, 'KEY_EXISTS');
    expect(existsSync(`${half}.pem`)).toBe(false);
    expect(readFileSync(`${half}.pub.pem`, 'utf8')).toBe('placeholder\n');
    expect(readdirSync(work).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('destinations that cannot take a key pair are refused before a key is made, and no secret is left', () => {
    const dir = join(work, 'kg-dest');
    mkdirSync(dir);
    // A dangling symlink where the public key goes: refused up front (it once left the private key).
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.pub.pem'));
    expectError(['keygen', '--algorithm', 'ed25519', '-o', join(dir, 'dangling')], 2, 'KEY_EXISTS');
    // No file prefix: would have written hidden `.pem` files.
    expectError(['keygen', '--algorithm', 'ed25519', '-o', ''], 2, 'BAD_OPTION');
    expectError(['keygen', '--algorithm', 'ed25519', '-o', `${dir}/`], 2, 'BAD_OPTION');
    // A file name, not a prefix: would have written release.pem.pem and release.pem.pub.pem.
    const named = runCli(['keygen', '--algorithm', 'ed25519', '-o', join(dir, 'release.pem')]);
    expect(named.status, describeRun(named)).toBe(2);
    expect(named.stderr).toContain(
      `is a prefix, to which keygen adds .pem and .pub.pem: give -o "${join(dir, 'release')}"`,
    );
    expect(readdirSync(dir).filter((f) => f.startsWith('release'))).toEqual([]);
    // A folder that does not exist: an I/O error before the key is generated.
    expectError(['keygen', '--algorithm', 'ed25519', '-o', join(dir, 'no-such', 'k')], 8, 'IO_ENOENT');
    // A token's module without a token: refused, not ignored with the secret written to disk.
    expectError(
      ['keygen', '--algorithm', 'ed25519', '--pkcs11-module', '/no/such.so', '-o', join(dir, 'm')],
      2,
      'BAD_OPTION',
    );
    expect(readdirSync(dir)).toEqual(['dangling.pub.pem']);
  });

  it.each([['ed25519'], ['ecdsa-p256'], ['ecdsa-p384'], ['rsa-2048']])(
    '%s: writes <prefix>.pem mode 0600 and <prefix>.pub.pem mode 0644 (minus umask)',
    (alg) => {
      const prefix = join(work, `kg-${alg}`);
      const r = runCliOk(['keygen', '--algorithm', alg, '-o', prefix, '--json']);
      const j = jsonOf(r);
      expect(j).toMatchObject({ algorithm: alg, privateKeyPath: `${prefix}.pem`, publicKeyPath: `${prefix}.pub.pem` });
      expect(j.keyId).toMatch(/^[0-9a-f]{64}$/);
      expect(statSync(`${prefix}.pem`).mode & 0o777).toBe(0o600);
      expect(statSync(`${prefix}.pub.pem`).mode & 0o777).toBe(0o644 & ~process.umask());
      expect(readFileSync(`${prefix}.pem`, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(readFileSync(`${prefix}.pub.pem`, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    },
  );

  it('keygen into a missing folder → exit 8, nothing written', () => {
    expectError(['keygen', '--algorithm', 'ed25519', '-o', join(work, 'no-such-dir', 'k')], 8, 'IO_ENOENT');
    expect(existsSync(join(work, 'no-such-dir'))).toBe(false);
  });

  it('a keygen key signs a package that verifies with its .pub.pem only (control)', () => {
    runCliOk(['verify', pkg, '--pubkey', `${goodKey}.pub.pem`]);
    expectError(['verify', pkg, '--pubkey', join(TEST_KEYS, 'ed25519.pub.pem')], 6, 'SIG_WRONG_KEY');
  });
});
