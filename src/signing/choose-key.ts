// Picks the keys to sign or verify with: the user's keys (PEM files, PKCS#11 URIs, a sign
// command), else the embedded public test key of the right algorithm. Either way a public test
// key earns a TEST_KEY warning (--strict refuses it).
// Checks key ids and counts so "wrong key" and "too many keys" are clear errors.

import { SignatureError, UsageError } from '../errors/ota-error.js';
import type { SignatureBlock } from '../format/signature-block.js';
import { MAX_SIGNATURES } from '../format/signature-section.js';
import type { SignatureAlgorithmName } from '../model/target-profile.js';
import type { Reporter } from '../reporter.js';
import { loadSigner, loadVerifier } from './load-key.js';
import { openSigner, type SignerOptions } from './open-signer.js';
import type { Signer, Verifier } from './signer.js';
import { testPrivateKeyPath, testPublicKeyPath } from './test-keys.js';

const TEST_KEY = 'signed with a PUBLIC TEST KEY: anyone can make such packages; not for release';
/** The warning where packages are signed (build: the fix is a key of one's own). */
const SIGNING_TEST_KEY = `packages are ${TEST_KEY} (use --key)`;
/** The warning where a package is checked (verify, apply, inspect: the fix is pinning the release key). */
const VERIFYING_TEST_KEY = `package is ${TEST_KEY} (release packages are built with --key and checked with --pubkey)`;

const short = (keyId: Uint8Array) => `${Buffer.from(keyId).toString('hex').slice(0, 16)}…`;

/** The signer for a target: `keyPath` if given, else the test key of `defaultAlgorithm`. */
export async function chooseSigner(
  keyPath: string | undefined,
  defaultAlgorithm: SignatureAlgorithmName,
  reporter: Reporter,
): Promise<Signer> {
  return (await chooseSigners(keyPath ? [keyPath] : [], {}, defaultAlgorithm, reporter))[0]!;
}

/**
 * The signers for a target: every key spec (PEM path or `pkcs11:` URI), then the sign command if
 * one is configured; the test key of `defaultAlgorithm` when there is none. All must share one
 * algorithm, be distinct keys and number at most MAX_SIGNATURES (usage errors, exit 2).
 */
export async function chooseSigners(
  keys: readonly string[],
  options: SignerOptions,
  defaultAlgorithm: SignatureAlgorithmName,
  reporter: Reporter,
): Promise<Signer[]> {
  const count = keys.length + (options.signCommand ? 1 : 0);
  if (count > MAX_SIGNATURES) {
    throw new UsageError('TOO_MANY_KEYS', `${count} signing keys given; a package carries at most ${MAX_SIGNATURES}`);
  }
  if (count === 0) {
    reporter.warn({ code: 'TEST_KEY', message: SIGNING_TEST_KEY });
    return [await loadSigner(testPrivateKeyPath(defaultAlgorithm))];
  }
  const signers: Signer[] = [];
  for (const key of keys) signers.push(await openSigner(key, options));
  if (options.signCommand) signers.push(await openSigner({ command: options.signCommand }, options));
  const first = signers[0]!;
  const seen = new Set<string>();
  for (const s of signers) {
    if (s.algorithm.name !== first.algorithm.name) {
      throw new UsageError(
        'KEY_ALGORITHM_MISMATCH',
        `signing keys must share one algorithm: key ${short(first.keyId)} is ${first.algorithm.name}, key ${short(s.keyId)} is ${s.algorithm.name}`,
      );
    }
    const hex = Buffer.from(s.keyId).toString('hex');
    if (seen.has(hex)) throw new UsageError('DUPLICATE_KEY', `key ${short(s.keyId)} is given twice`);
    seen.add(hex);
  }
  // A key that is one of the public test keys is no better than no key at all.
  if (await anyTestKey(signers))
    reporter.warn({
      code: 'TEST_KEY',
      message: `packages are ${TEST_KEY}: a key given is one of the public test keys; sign with a key of your own`,
    });
  return signers;
}

/** True when one of `keys` is the public test key of its algorithm (however it was given). */
async function anyTestKey(keys: readonly (Signer | Verifier)[]): Promise<boolean> {
  for (const key of keys) {
    const test = await loadVerifier(testPublicKeyPath(key.algorithm.name));
    if (Buffer.from(test.keyId).equals(Buffer.from(key.keyId))) return true;
  }
  return false;
}

/**
 * The pinned verifiers that name one of a section's keys: every `pubkeyPaths` key that signed the
 * package, or the test key of the blocks' algorithm when none is pinned. Throws SignatureError
 * (exit 6) when no pinned key signed the package.
 */
export async function chooseVerifiers(
  blocks: readonly SignatureBlock[],
  pubkeyPaths: readonly string[],
  reporter: Reporter,
): Promise<Verifier[]> {
  const algorithm = blocks[0]!.algorithm;
  const signedBy = blocks.map((b) => short(b.keyId)).join(', ');
  const signs = (v: Verifier) => blocks.some((b) => Buffer.from(b.keyId).equals(Buffer.from(v.keyId)));
  if (pubkeyPaths.length === 0) {
    const verifier = await loadVerifier(testPublicKeyPath(algorithm.name));
    if (!signs(verifier)) {
      throw new SignatureError(
        'SIG_UNKNOWN_KEY',
        `package is signed by key ${signedBy}, not by the public test key; pass the signer's public key with --pubkey`,
      );
    }
    reporter.warn({ code: 'TEST_KEY', message: VERIFYING_TEST_KEY });
    return [verifier];
  }
  const pinned: { path: string; verifier: Verifier }[] = [];
  for (const path of pubkeyPaths) pinned.push({ path, verifier: await loadVerifier(path) });
  const matching = pinned.filter((p) => signs(p.verifier)).map((p) => p.verifier);
  if (matching.length > 0) {
    if (await anyTestKey(matching)) reporter.warn({ code: 'TEST_KEY', message: VERIFYING_TEST_KEY });
    else {
      // Checked with a release key, but also signed by a test key: a device trusting that key takes it too.
      const test = await loadVerifier(testPublicKeyPath(algorithm.name));
      if (signs(test))
        reporter.warn({
          code: 'TEST_KEY',
          message: `package also carries a signature naming a PUBLIC TEST KEY (key ${short(test.keyId)}, beside the --pubkey key): a device that trusts the test key may accept it; not for release`,
        });
    }
    return matching;
  }
  const other = pinned.find((p) => p.verifier.algorithm.name !== algorithm.name);
  if (other && pinned.length === 1) {
    throw new SignatureError(
      'SIG_WRONG_KEY',
      `package is signed with ${algorithm.name} but --pubkey ${other.path} is a ${other.verifier.algorithm.name} key`,
    );
  }
  const ours = pinned.map((p) => `${p.path} is key ${short(p.verifier.keyId)}`).join(', ');
  throw new SignatureError('SIG_WRONG_KEY', `package is signed by key ${signedBy}, but --pubkey ${ours}`);
}
