// Generates a key pair and writes `<prefix>.pem` (PKCS#8, mode 0600) and `<prefix>.pub.pem` (SPKI).

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { link, lstat, open, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { UsageError, ioError } from '../errors/ota-error.js';
import { assertWritableFolder } from '../image/writable-folder.js';
import { algorithmByName, SIGNATURE_ALGORITHMS } from '../model/signature-algorithm.js';
import { keyIdOf } from './key-pair.js';

/** What keygen wrote. */
export interface KeygenResult {
  readonly algorithm: string;
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  /** The key id (sha256 of the public key's SPKI DER), hex: the same field verify and inspect report. */
  readonly keyId: string;
}

function generate(name: string): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (name) {
    case 'ed25519':
      return generateKeyPairSync('ed25519');
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    case 'ecdsa-p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    case 'rsa-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'rsa-4096':
      return generateKeyPairSync('rsa', { modulusLength: 4096 });
    default:
      throw new UsageError(
        'BAD_ALGORITHM',
        `unknown algorithm ${JSON.stringify(name)}; expected one of ${SIGNATURE_ALGORITHMS.map((a) => a.name).join(', ')}`,
      );
  }
}

/**
 * Writes a file that must not exist yet: data goes to a temp file (fsynced, with `mode`), which
 * is then hard-linked to `path` — link fails if `path` appeared meanwhile, so nothing is overwritten.
 */
export async function writeNew(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UsageError('KEY_EXISTS', `${path} already exists; keygen never overwrites a key`);
    throw ioError('write key file', path, err);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Refuses, before a key is made, what would fail after it: a prefix that names no file (empty,
 * or a folder: `keys/` would write the hidden `keys/.pem`), a key file that exists in any form
 * (a dangling symlink too: the write would fail on it), a folder that does not exist or may not
 * be written.
 */
export async function checkKeyDestinations(prefix: string, paths: readonly string[]): Promise<void> {
  if (prefix === '' || /[\\/]$/.test(prefix) || ['.', '..'].includes(basename(prefix)))
    throw new UsageError(
      'BAD_OPTION',
      `-o ${JSON.stringify(prefix)} names no file: give a file prefix (-o keys/release writes keys/release.pem and keys/release.pub.pem)`,
    );
  if (/\.pem$/i.test(prefix))
    throw new UsageError(
      'BAD_OPTION',
      `-o ${JSON.stringify(prefix)} is a prefix, to which keygen adds .pem and .pub.pem: give -o ${JSON.stringify(prefix.replace(/\.pem$/i, ''))}`,
    );
  for (const p of paths) {
    const st = await lstat(p).catch(() => undefined);
    if (st)
      throw new UsageError(
        'KEY_EXISTS',
        `${p} already exists${st.isSymbolicLink() ? ' (a symbolic link)' : ''}; keygen never overwrites a key`,
      );
    await assertWritableFolder(p, 'write key file');
  }
}

/** Generates a key pair for `algorithm` and writes both files. Refuses to overwrite existing keys. */
export async function keygen(algorithm: string, prefix: string): Promise<KeygenResult> {
  if (!algorithmByName(algorithm)) generate(algorithm);
  const privateKeyPath = `${prefix}.pem`;
  const publicKeyPath = `${prefix}.pub.pem`;
  // Checked before the (slow, for RSA-4096) generation; writeNew re-checks atomically.
  await checkKeyDestinations(prefix, [privateKeyPath, publicKeyPath]);
  const { privateKey, publicKey } = generate(algorithm);
  await writeNew(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  try {
    await writeNew(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
  } catch (err) {
    // A key pair or nothing: no secret is left behind without its public half.
    await unlink(privateKeyPath).catch(() => undefined);
    throw err;
  }
  return { algorithm, privateKeyPath, publicKeyPath, keyId: keyIdOf(publicKey).toString('hex') };
}
