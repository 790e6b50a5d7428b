// The embedded, PUBLIC test keys (insecure-test-keys/ at the package root). Used when no --key
// or --pubkey is given, always with a warning: anyone can sign with them.

import { fileURLToPath } from 'node:url';
import type { SignatureAlgorithmName } from '../model/target-profile.js';

/** Folder holding `<algorithm>.pem` and `<algorithm>.pub.pem` test keys. */
export const TEST_KEYS_DIR = fileURLToPath(new URL('../../insecure-test-keys/', import.meta.url));

/** Path of the private test key for an algorithm. */
export function testPrivateKeyPath(algorithm: SignatureAlgorithmName): string {
  return `${TEST_KEYS_DIR}${algorithm}.pem`;
}

/** Path of the public test key for an algorithm. */
export function testPublicKeyPath(algorithm: SignatureAlgorithmName): string {
  return `${TEST_KEYS_DIR}${algorithm}.pub.pem`;
}
