// KeySigner and KeyVerifier over node:crypto keys: algorithm detection, key ids, sign and verify of
// the short statements defined in FORMAT.md §5. No file access (see load-key.ts).

import { createHash, sign, verify, constants, type KeyObject } from 'node:crypto';
import { SignatureError, UnsupportedError } from '../errors/ota-error.js';
import { algorithmByName, type SignatureAlgorithmInfo } from '../model/signature-algorithm.js';
import type { SignatureAlgorithmName } from '../model/target-profile.js';
import type { Signer, Verifier } from './signer.js';

export type { Signer, Verifier } from './signer.js';

/** Detects which supported algorithm a key is for; throws UnsupportedError for anything else. */
export function algorithmOfKey(key: KeyObject, source: string): SignatureAlgorithmInfo {
  const details = key.asymmetricKeyDetails ?? {};
  let name: SignatureAlgorithmName | undefined;
  if (key.asymmetricKeyType === 'ed25519') name = 'ed25519';
  else if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') name = 'ecdsa-p256';
  else if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'secp384r1') name = 'ecdsa-p384';
  else if (key.asymmetricKeyType === 'rsa' && details.modulusLength === 2048) name = 'rsa-2048';
  else if (key.asymmetricKeyType === 'rsa' && details.modulusLength === 4096) name = 'rsa-4096';
  if (!name) {
    const what = [key.asymmetricKeyType, details.namedCurve, details.modulusLength].filter(Boolean).join(' ');
    throw new UnsupportedError(
      'KEY_UNSUPPORTED',
      `${source}: ${what} keys are not supported; use ed25519, ecdsa-p256, ecdsa-p384, rsa-2048 or rsa-4096`,
    );
  }
  return algorithmByName(name)!;
}

/** sha256 of a public key's SPKI DER encoding: the key id stored in signature blocks. */
export function keyIdOf(publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
}

function digestFor(algorithm: SignatureAlgorithmInfo): string | null {
  return algorithm.name === 'ed25519' ? null : 'sha256';
}

function keyInput(key: KeyObject, algorithm: SignatureAlgorithmInfo) {
  return algorithm.name.startsWith('rsa') ? { key, padding: constants.RSA_PKCS1_PADDING } : key;
}

/** A Signer over a private KeyObject. */
export class KeySigner implements Signer {
  readonly algorithm: SignatureAlgorithmInfo;
  readonly keyId: Uint8Array;

  constructor(
    private readonly privateKey: KeyObject,
    private readonly source: string,
    private readonly publicKey: KeyObject,
  ) {
    this.algorithm = algorithmOfKey(privateKey, source);
    this.keyId = keyIdOf(publicKey);
  }

  verifier(): Verifier {
    return new KeyVerifier(this.publicKey, this.source);
  }

  sign(statement: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(this.signNow(statement));
  }

  private signNow(statement: Uint8Array): Buffer {
    try {
      return sign(digestFor(this.algorithm), statement, keyInput(this.privateKey, this.algorithm));
    } catch (err) {
      throw new SignatureError(
        'SIG_SIGN_FAILED',
        `signing with ${this.algorithm.name} failed: ${(err as Error).message}`,
      );
    }
  }
}

/** A Verifier over a public KeyObject. */
export class KeyVerifier implements Verifier {
  readonly algorithm: SignatureAlgorithmInfo;
  readonly keyId: Uint8Array;

  constructor(
    private readonly publicKey: KeyObject,
    source: string,
  ) {
    this.algorithm = algorithmOfKey(publicKey, source);
    this.keyId = keyIdOf(publicKey);
  }

  verify(statement: Uint8Array, signature: Uint8Array): boolean {
    try {
      return verify(digestFor(this.algorithm), statement, keyInput(this.publicKey, this.algorithm), signature);
    } catch {
      return false;
    }
  }
}
