// Rebuilds a node:crypto public key from the attributes a PKCS#11 token reports (RSA modulus and
// exponent, EC/EdDSA parameters and point), so a token key gets the same key id as its PEM.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { SignatureError } from '../errors/ota-error.js';
import { derTlv, readTlv, spkiDer } from './der.js';

/** PKCS#11 key types ota-build reads (CKK_*). */
export const KEY_TYPE = { rsa: 0x0, ec: 0x3, ecEdwards: 0x40 } as const;

/** DER OID of id-ecPublicKey (1.2.840.10045.2.1). */
const EC_PUBLIC_KEY_OID = Buffer.from('06072a8648ce3d0201', 'hex');
/** DER OID of Ed25519 (1.3.101.112). */
export const ED25519_OID = Buffer.from('06032b6570', 'hex');

/** Attributes of a token key needed to rebuild its public key. */
export interface TokenKeyAttributes {
  readonly keyType: number;
  readonly modulus?: Buffer;
  readonly publicExponent?: Buffer;
  readonly ecParams?: Buffer;
  readonly ecPoint?: Buffer;
}

/** The public key of a token key; throws SignatureError PKCS11_KEY_INVALID when attributes are missing. */
export function publicKeyFromAttributes(a: TokenKeyAttributes, label: string): KeyObject {
  const fail = (detail: string): never => {
    throw new SignatureError('PKCS11_KEY_INVALID', `token key ${label}: ${detail}`);
  };
  try {
    if (a.keyType === KEY_TYPE.rsa) {
      if (!a.modulus || !a.publicExponent) return fail('no public modulus/exponent');
      return createPublicKey({
        key: { kty: 'RSA', n: a.modulus.toString('base64url'), e: a.publicExponent.toString('base64url') },
        format: 'jwk',
      });
    }
    if (!a.ecParams || !a.ecPoint) return fail('no public key object with EC parameters and point');
    // CKA_EC_POINT is a DER OCTET STRING holding the point; some tokens give the bare point.
    const wrapped = readTlv(a.ecPoint);
    const point = wrapped && wrapped.tag === 0x04 && wrapped.end === a.ecPoint.length ? wrapped.content : a.ecPoint;
    if (a.keyType === KEY_TYPE.ecEdwards) {
      const isEd25519 = a.ecParams.equals(ED25519_OID) || a.ecParams.equals(derTlv(0x13, Buffer.from('edwards25519')));
      if (!isEd25519) return fail('EdDSA key is not on edwards25519');
      return createPublicKey({ key: spkiDer(derTlv(0x30, ED25519_OID), point), format: 'der', type: 'spki' });
    }
    if (a.keyType === KEY_TYPE.ec) {
      const algorithm = derTlv(0x30, Buffer.concat([EC_PUBLIC_KEY_OID, a.ecParams]));
      return createPublicKey({ key: spkiDer(algorithm, point), format: 'der', type: 'spki' });
    }
  } catch (err) {
    if (err instanceof SignatureError) throw err;
    return fail(`public key attributes do not form a key: ${(err as Error).message.split('\n')[0]}`);
  }
  return fail(`key type 0x${a.keyType.toString(16)} is not RSA, EC or EdDSA`);
}
