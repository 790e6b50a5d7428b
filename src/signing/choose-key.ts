// Picks the key to sign or verify with: the user's file, else the embedded public test key of
// the right algorithm. Either way a public test key earns a TEST_KEY warning (--strict refuses it).
// Checks key ids so "wrong key" is a clear error.

import { SignatureError } from '../errors/ota-error.js';
import type { SignatureAlgorithmInfo } from '../model/signature-algorithm.js';
import type { SignatureAlgorithmName } from '../model/target-profile.js';
import type { Reporter } from '../reporter.js';
import type { Signer, Verifier } from './key-pair.js';
import { loadSigner, loadVerifier } from './load-key.js';
import { testPrivateKeyPath, testPublicKeyPath } from './test-keys.js';

const TEST_KEY_WARNING = 'signed with a PUBLIC TEST KEY: anyone can make such packages; not for release (use --key)';

/** The signer for a target: `keyPath` if given, else the test key of `defaultAlgorithm`. */
export async function chooseSigner(
  keyPath: string | undefined,
  defaultAlgorithm: SignatureAlgorithmName,
  reporter: Reporter,
): Promise<Signer> {
  const signer = await loadSigner(keyPath ?? testPrivateKeyPath(defaultAlgorithm));
  // A key file that is one of the public test keys is no better than no key at all.
  if (!keyPath || (await isTestKey(signer))) {
    reporter.warn({ code: 'TEST_KEY', message: `packages are ${TEST_KEY_WARNING}` });
  }
  return signer;
}

/** True when `key` is the public test key of its algorithm (given by path or by default). */
async function isTestKey(key: Signer | Verifier): Promise<boolean> {
  const test = await loadVerifier(testPublicKeyPath(key.algorithm.name));
  return Buffer.from(test.keyId).equals(Buffer.from(key.keyId));
}

/**
 * The verifier for a signature block: `pubkeyPath` if given, else the test key of the block's
 * algorithm. Throws SignatureError (exit 6) when the block names another key or algorithm.
 */
export async function chooseVerifier(
  algorithm: SignatureAlgorithmInfo,
  keyId: Uint8Array,
  pubkeyPath: string | undefined,
  reporter: Reporter,
): Promise<Verifier> {
  const verifier = await loadVerifier(pubkeyPath ?? testPublicKeyPath(algorithm.name));
  const signedBy = Buffer.from(keyId).toString('hex').slice(0, 16);
  const ours = Buffer.from(verifier.keyId).toString('hex').slice(0, 16);
  if (!pubkeyPath && signedBy !== ours) {
    throw new SignatureError(
      'SIG_UNKNOWN_KEY',
      `package is signed by key ${signedBy}…, not by the public test key; pass the signer's public key with --pubkey`,
    );
  }
  if (verifier.algorithm.name !== algorithm.name) {
    throw new SignatureError(
      'SIG_WRONG_KEY',
      `package is signed with ${algorithm.name} but --pubkey ${pubkeyPath} is a ${verifier.algorithm.name} key`,
    );
  }
  if (signedBy !== ours) {
    throw new SignatureError(
      'SIG_WRONG_KEY',
      `package is signed by key ${signedBy}…, but --pubkey ${pubkeyPath} is key ${ours}…`,
    );
  }
  if (!pubkeyPath || (await isTestKey(verifier))) {
    reporter.warn({ code: 'TEST_KEY', message: `package is ${TEST_KEY_WARNING}` });
  }
  return verifier;
}
