// Pkcs11Signer: signs with a private key that stays on a PKCS#11 token (HSM, smart card,
// SoftHSM). Mechanisms per algorithm: CKM_SHA256_RSA_PKCS over the statement, CKM_ECDSA over its
// sha256 (raw r||s turned into the DER FORMAT.md §5 stores), CKM_EDDSA over the statement.

import { createHash, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { SignatureError, UsageError } from '../errors/ota-error.js';
import { readCappedInput } from '../image/read-capped-input.js';
import type { SignatureAlgorithmInfo } from '../model/signature-algorithm.js';
import { ecdsaRawToDer } from './der.js';
import { KeyVerifier, algorithmOfKey, keyIdOf } from './key-pair.js';
import type { SignerOptions } from './signer-options.js';
import { publicKeyFromAttributes } from './pkcs11-public-key.js';
import {
  MECHANISM,
  findObject,
  readAttributes,
  requireMechanism,
  withTokenSession,
  type TokenAccess,
  type TokenSession,
} from './pkcs11-token.js';
import { parsePkcs11Uri, type Pkcs11Uri } from './pkcs11-uri.js';
import type { Signer, Verifier } from './signer.js';

/** Largest PIN file read. */
const MAX_PIN_FILE_BYTES = 1024;

/** Module path and PIN for a URI: the URI's own, else the options' (flag or environment). */
export async function tokenAccess(uri: Pkcs11Uri, options: SignerOptions): Promise<TokenAccess> {
  const modulePath = uri.modulePath ?? options.pkcs11ModulePath;
  if (!modulePath) {
    throw new UsageError(
      'PKCS11_NO_MODULE',
      'a pkcs11: key needs a module: --pkcs11-module <path>, $OTA_PKCS11_MODULE or module-path= in the URI',
    );
  }
  let pin = options.pkcs11Pin;
  if (uri.pinSourcePath !== undefined) {
    const raw = await readCappedInput(uri.pinSourcePath, MAX_PIN_FILE_BYTES, 'read PIN file');
    if (raw.length > MAX_PIN_FILE_BYTES)
      throw new UsageError(
        'PKCS11_BAD_PIN_SOURCE',
        `PIN file ${uri.pinSourcePath} is larger than ${MAX_PIN_FILE_BYTES} bytes`,
      );
    pin = raw.toString('utf8').replace(/\r?\n$/, '');
  }
  if (pin === undefined || pin === '') {
    throw new UsageError(
      'PKCS11_NO_PIN',
      'a pkcs11: key needs the user PIN: pin-source=file:<path> in the URI or $OTA_PKCS11_PIN',
    );
  }
  return { modulePath, pin, uri };
}

/** The public key of the key a URI names: its public object, else (RSA) the private object's public parts. */
export function tokenPublicKey(s: TokenSession, uri: Pkcs11Uri, privateKey: Buffer, label: string): KeyObject {
  const [idOfKey] = readAttributes(s, privateKey, [pkcs11js.CKA_ID]);
  const pub =
    findObject(s, { ...uri, id: uri.id ?? (idOfKey?.length ? idOfKey : undefined) }, pkcs11js.CKO_PUBLIC_KEY) ??
    privateKey;
  const [keyType, modulus, publicExponent, ecParams, ecPoint] = readAttributes(s, pub, [
    pkcs11js.CKA_KEY_TYPE,
    pkcs11js.CKA_MODULUS,
    pkcs11js.CKA_PUBLIC_EXPONENT,
    pkcs11js.CKA_EC_PARAMS,
    pkcs11js.CKA_EC_POINT,
  ]);
  return publicKeyFromAttributes(
    {
      keyType: keyType ? keyType.readUIntLE(0, Math.min(6, keyType.length)) : -1,
      modulus,
      publicExponent,
      ecParams,
      ecPoint,
    },
    label,
  );
}

function mechanismFor(algorithm: SignatureAlgorithmInfo): { mechanism: number; name: string } {
  if (algorithm.name === 'ed25519') return { mechanism: MECHANISM.eddsa, name: 'CKM_EDDSA' };
  if (algorithm.name.startsWith('ecdsa')) return { mechanism: MECHANISM.ecdsa, name: 'CKM_ECDSA' };
  return { mechanism: MECHANISM.sha256RsaPkcs, name: 'CKM_SHA256_RSA_PKCS' };
}

function privateKeyOf(s: TokenSession, uri: Pkcs11Uri, label: string): Buffer {
  if (uri.type !== undefined && uri.type !== 'private') {
    throw new UsageError('PKCS11_BAD_URI', `PKCS#11 URI: --key needs a private key, the URI says type=${uri.type}`);
  }
  const key = findObject(s, uri, pkcs11js.CKO_PRIVATE_KEY);
  if (!key) {
    throw new SignatureError('PKCS11_KEY_NOT_FOUND', `token ${s.tokenLabel} has no private key ${label}`);
  }
  return key;
}

/** A Signer whose private key never leaves the token. */
export class Pkcs11Signer implements Signer {
  private constructor(
    private readonly access: TokenAccess,
    readonly algorithm: SignatureAlgorithmInfo,
    private readonly publicKey: KeyObject,
    readonly keyId: Uint8Array,
    private readonly label: string,
  ) {}

  /** Opens the key a `pkcs11:` URI names: finds it, reads its public key, checks the mechanism. */
  static async open(uriText: string, options: SignerOptions): Promise<Pkcs11Signer> {
    const uri = parsePkcs11Uri(uriText);
    const access = await tokenAccess(uri, options);
    const label = uri.object !== undefined ? JSON.stringify(uri.object) : `id ${uri.id!.toString('hex')}`;
    return withTokenSession(access, false, (s) => {
      const publicKey = tokenPublicKey(s, uri, privateKeyOf(s, uri, label), label);
      const algorithm = algorithmOfKey(publicKey, `token key ${label}`);
      const { mechanism, name } = mechanismFor(algorithm);
      requireMechanism(s, mechanism, `${name} for ${algorithm.name}`);
      return new Pkcs11Signer(access, algorithm, publicKey, keyIdOf(publicKey), label);
    });
  }

  verifier(): Verifier {
    return new KeyVerifier(this.publicKey, `token key ${this.label}`);
  }

  sign(statement: Uint8Array): Promise<Uint8Array> {
    const { mechanism } = mechanismFor(this.algorithm);
    const ecdsa = this.algorithm.name.startsWith('ecdsa');
    const input = ecdsa ? createHash('sha256').update(statement).digest() : Buffer.from(statement);
    const signature = withTokenSession(this.access, false, (s) => {
      const key = privateKeyOf(s, this.access.uri, this.label);
      s.module.C_SignInit(s.session, { mechanism }, key);
      return s.module.C_Sign(s.session, input, Buffer.alloc(1024));
    });
    return Promise.resolve(ecdsa ? ecdsaRawToDer(signature) : signature);
  }
}
