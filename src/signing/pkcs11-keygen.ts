// Generates a key pair inside a PKCS#11 token (the private key is created sensitive and
// non-extractable, so it never exists outside the token) and writes only its public key as
// `<prefix>.pub.pem`, to pin on devices.

import { randomBytes } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { UsageError } from '../errors/ota-error.js';
import { SIGNATURE_ALGORITHMS } from '../model/signature-algorithm.js';
import { keyIdOf } from './key-pair.js';
import { checkKeyDestinations, writeNew, type KeygenResult } from './keygen.js';
import type { SignerOptions } from './signer-options.js';
import { ED25519_OID } from './pkcs11-public-key.js';
import { tokenAccess, tokenPublicKey } from './pkcs11-signer.js';
import { MECHANISM, findObject, requireMechanism, withTokenSession } from './pkcs11-token.js';
import { parsePkcs11Uri } from './pkcs11-uri.js';

type Attribute = { type: number; value: number | boolean | Buffer | string };

/** Generator mechanism and algorithm-specific public template per algorithm. */
function generatorFor(algorithm: string): { mechanism: number; name: string; publicAttributes: Attribute[] } {
  const ec = (oidHex: string) => [{ type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from(oidHex, 'hex') }];
  switch (algorithm) {
    case 'ed25519':
      return {
        mechanism: MECHANISM.ecEdwardsKeyPairGen,
        name: 'CKM_EC_EDWARDS_KEY_PAIR_GEN',
        publicAttributes: ec(ED25519_OID.toString('hex')),
      };
    case 'ecdsa-p256':
      return {
        mechanism: MECHANISM.ecKeyPairGen,
        name: 'CKM_EC_KEY_PAIR_GEN',
        publicAttributes: ec('06082a8648ce3d030107'),
      };
    case 'ecdsa-p384':
      return { mechanism: MECHANISM.ecKeyPairGen, name: 'CKM_EC_KEY_PAIR_GEN', publicAttributes: ec('06052b81040022') };
    case 'rsa-2048':
    case 'rsa-4096':
      return {
        mechanism: MECHANISM.rsaKeyPairGen,
        name: 'CKM_RSA_PKCS_KEY_PAIR_GEN',
        publicAttributes: [
          { type: pkcs11js.CKA_MODULUS_BITS, value: algorithm === 'rsa-2048' ? 2048 : 4096 },
          { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
        ],
      };
    default:
      throw new UsageError(
        'BAD_ALGORITHM',
        `unknown algorithm ${JSON.stringify(algorithm)}; expected one of ${SIGNATURE_ALGORITHMS.map((a) => a.name).join(', ')}`,
      );
  }
}

/**
 * Generates an `algorithm` key pair on the token a `pkcs11:` URI names (its `object` becomes the
 * label, its `id` the CKA_ID, else 8 random bytes) and writes `<prefix>.pub.pem`. Refuses when the
 * token already holds a key with that label or id.
 */
export async function pkcs11Keygen(
  algorithm: string,
  uriText: string,
  prefix: string,
  options: SignerOptions,
): Promise<KeygenResult> {
  const generator = generatorFor(algorithm);
  const uri = parsePkcs11Uri(uriText);
  if (uri.object === undefined)
    throw new UsageError('PKCS11_BAD_URI', 'PKCS#11 URI: keygen needs object=<label> for the new key');
  const publicKeyPath = `${prefix}.pub.pem`;
  // Checked before the key is made, so a refused write leaves no orphan key on the token.
  await checkKeyDestinations(prefix, [publicKeyPath]);
  const access = await tokenAccess(uri, options);
  const id = uri.id ?? randomBytes(8);
  const { publicKey, tokenLabel } = withTokenSession(access, true, (s) => {
    for (const cls of [pkcs11js.CKO_PRIVATE_KEY, pkcs11js.CKO_PUBLIC_KEY]) {
      if (findObject(s, { object: uri.object }, cls) || findObject(s, { id }, cls)) {
        throw new UsageError(
          'KEY_EXISTS',
          `token ${s.tokenLabel} already holds a key labelled ${JSON.stringify(uri.object)} or with that id; keygen never overwrites a key`,
        );
      }
    }
    requireMechanism(s, generator.mechanism, `${generator.name} for ${algorithm}`);
    const common = [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: uri.object! },
      { type: pkcs11js.CKA_ID, value: id },
    ];
    const keys = s.module.C_GenerateKeyPair(
      s.session,
      { mechanism: generator.mechanism },
      [...common, { type: pkcs11js.CKA_VERIFY, value: true }, ...generator.publicAttributes],
      [
        ...common,
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      ],
    );
    return {
      publicKey: tokenPublicKey(s, { ...uri, id }, keys.privateKey, JSON.stringify(uri.object)),
      tokenLabel: s.tokenLabel,
    };
  });
  await writeNew(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
  const uriOut = `pkcs11:token=${encodeURIComponent(tokenLabel)};object=${encodeURIComponent(uri.object)};id=${[...id].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`;
  return { algorithm, privateKeyPath: uriOut, publicKeyPath, keyId: keyIdOf(publicKey).toString('hex') };
}
