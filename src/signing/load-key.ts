// Reads PEM key files into Signers and Verifiers with typed, one-line errors
// (missing file: exit 8; not a key, wrong kind of key: exit 6; unsupported algorithm: exit 7).

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { OtaError, SignatureError } from '../errors/ota-error.js';
import { readBoundedFile } from '../image/read-bounded-file.js';
import { KeySigner, KeyVerifier, type Signer, type Verifier } from './key-pair.js';

/** Key files larger than this are not keys. */
const MAX_KEY_FILE_BYTES = 64 * 1024;
/** PEM labels of a private key (PKCS#8, traditional, encrypted) and of a public one (SPKI, PKCS#1). */
const PRIVATE_LABEL = /PRIVATE KEY$/;
const PUBLIC_LABEL = /^(RSA )?PUBLIC KEY$/;
/** PEM labels of an X.509 certificate, whose public key a verifier may take (OpenSSL's three). */
const CERTIFICATE_LABEL = /^(X509 |TRUSTED )?CERTIFICATE$/;
/** OpenSSL's certificate with trust settings appended, which Node does not read. */
const TRUSTED_CERTIFICATE_LABEL = /^TRUSTED CERTIFICATE$/;

async function readKeyFile(path: string): Promise<Buffer> {
  const pem = await readBoundedFile(path, {
    maxBytes: MAX_KEY_FILE_BYTES,
    action: 'read key file',
    notFile: () => new SignatureError('KEY_INVALID', `${path} is not a regular file; a PEM key is a small file`),
    tooLarge: (sizeBytes) =>
      new SignatureError('KEY_INVALID', `${path} is ${sizeBytes} bytes; a PEM key is at most ${MAX_KEY_FILE_BYTES}`),
  });
  if (pem.toString('latin1').trim() === '')
    throw new SignatureError('KEY_INVALID', `${path} is empty; a PEM key is text starting with -----BEGIN`);
  return pem;
}

/** Loads a PKCS#8 (or traditional) PEM private key as a Signer. */
export async function loadSigner(path: string): Promise<Signer> {
  const pem = await readKeyFile(path);
  const text = pem.toString('latin1');
  const privateBlocks = pemBlocks(text, PRIVATE_LABEL);
  if (privateBlocks === 0) {
    const what =
      pemBlocks(text, PUBLIC_LABEL) > 0
        ? 'a public key'
        : pemBlocks(text, CERTIFICATE_LABEL) > 0
          ? 'a certificate (it holds a public key only)'
          : undefined;
    if (what)
      throw new SignatureError(
        'KEY_NOT_PRIVATE',
        `${path} is ${what}; --key takes the private key (the .pem without .pub)`,
      );
  }
  if (privateBlocks > 1)
    throw new SignatureError(
      'KEY_INVALID',
      `${path} holds ${privateBlocks} private keys; a key file holds one (give each with its own --key)`,
    );
  refuseEncrypted(pem, path);
  refuseOtherFormats(pem, text, path, 'private');
  let privateKey;
  try {
    privateKey = createPrivateKey(pem);
    // Its public key or certificate beside it is fine; another key's would leave which key is meant unclear.
    if (distinctKeys(text) > 1)
      throw new SignatureError(
        'KEY_INVALID',
        `${path} holds a private key and the public key or certificate of another key; give the private key alone`,
      );
  } catch (err) {
    if (err instanceof OtaError) throw err;
    throw new SignatureError('KEY_INVALID', `${path} is not a PEM private key: ${firstLine(err)}`);
  }
  const signer = new KeySigner(privateKey, path, createPublicKey(privateKey));
  // A damaged key (an RSA key whose factors no longer match) loads but signs wrongly: found here,
  // before a build hashes and encodes everything, not when its package fails to verify.
  const probe = Buffer.from('ota-build key check');
  const probeSignature = await signer.sign(probe).catch(() => undefined);
  if (!probeSignature || !signer.verifier().verify(probe, probeSignature))
    throw new SignatureError(
      'KEY_INVALID',
      `${path} is a damaged private key: a signature it makes does not verify with its own public key (openssl pkey -check -in ${path} says why)`,
    );
  return signer;
}

/** Refuses a passphrase-protected PEM key, which is read only unencrypted, saying what to do instead. */
function refuseEncrypted(pem: Buffer, path: string): void {
  const text = pem.toString('latin1');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text) || /^Proc-Type: 4,ENCRYPTED/m.test(text))
    throw new SignatureError(
      'KEY_INVALID',
      `${path} is a passphrase-protected private key, which ota-build does not read: keep the key on a PKCS#11 token (--key 'pkcs11:…'), or decrypt it to a file only the build can read (openssl pkey -in ${path} -out plain.pem)`,
    );
}

/**
 * Loads a PEM public key (SPKI or PKCS#1) as a Verifier, or the public key of a PEM certificate
 * or of a private key file; refuses a file from which more than one key could be meant.
 */
export async function loadVerifier(path: string): Promise<Verifier> {
  const pem = await readKeyFile(path);
  refuseEncrypted(pem, path);
  const text = pem.toString('latin1');
  if (pemBlocks(text, TRUSTED_CERTIFICATE_LABEL) > 0)
    throw new SignatureError(
      'KEY_INVALID',
      `${path} is an OpenSSL TRUSTED CERTIFICATE (trust settings appended), which is not read; give its public key: openssl x509 -in ${path} -pubkey -noout`,
    );
  // One key's private and public PEM together are one key; two of either kind are two keys.
  const keys = Math.max(pemBlocks(text, PUBLIC_LABEL), pemBlocks(text, PRIVATE_LABEL));
  if (keys > 1)
    throw new SignatureError(
      'KEY_INVALID',
      `${path} holds ${keys} keys, and only one would be read; give each with its own --pubkey`,
    );
  // A certificate chain would pin its first certificate's key, which may be the root's.
  const certificates = pemBlocks(text, CERTIFICATE_LABEL);
  if (certificates > 1)
    throw new SignatureError(
      'KEY_INVALID',
      `${path} holds ${certificates} certificates (a chain?), and only the first one's key would be read; give the signing key's certificate alone, or its public key (openssl x509 -in ${path} -pubkey -noout)`,
    );
  refuseOtherFormats(pem, text, path, 'public');
  try {
    // A public key, a private key and a certificate together must be one key: only one is read.
    const held = distinctKeys(text);
    if (held > 1)
      throw new SignatureError(
        'KEY_INVALID',
        `${path} holds ${held} different keys (a key and a certificate of another?), and only one would be read; give each with its own --pubkey`,
      );
    return new KeyVerifier(createPublicKey(pem), path);
  } catch (err) {
    if (err instanceof OtaError) throw err;
    throw new SignatureError('KEY_INVALID', `${path} is not a PEM public key: ${firstLine(err)}`);
  }
}

/** How many different keys the key blocks of `text` hold (a private key counts as its public key). */
function distinctKeys(text: string): number {
  const spki = (block: string) => createPublicKey(block).export({ type: 'spki', format: 'der' }).toString('hex');
  return new Set(keyBlocks(text).map(spki)).size;
}

/**
 * Refuses a key in a format other than PEM (OpenSSH's, DER), naming it and the command that
 * converts it, rather than an OpenSSL decoder error.
 */
function refuseOtherFormats(pem: Buffer, text: string, path: string, wanted: 'private' | 'public'): void {
  const refuse = (what: string, convert: string) => {
    throw new SignatureError('KEY_INVALID', `${path} is ${what}, which is not read (PEM only); convert it: ${convert}`);
  };
  if (/-----BEGIN OPENSSH PRIVATE KEY-----/.test(text))
    refuse(
      'an OpenSSH private key',
      'ssh-keygen -p -m PKCS8 -f <a copy of it> rewrites an RSA or ECDSA key as PEM (OpenSSH writes no Ed25519 key as PEM: make one with ota-build keygen)',
    );
  if (/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) AAAA/.test(text.trimStart())) {
    if (wanted === 'private')
      throw new SignatureError('KEY_NOT_PRIVATE', `${path} is an OpenSSH public key; --key takes the private key`);
    refuse(
      'an OpenSSH public key',
      `ssh-keygen -e -m PKCS8 -f ${path} > key.pub.pem (RSA and ECDSA keys; for Ed25519, the PEM public key of the private key that signs)`,
    );
  }
  if (pem[0] === 0x30 && !text.includes('-----BEGIN'))
    refuse(
      'a DER (binary) key or certificate',
      wanted === 'private'
        ? `openssl pkey -inform DER -in ${path} -out key.pem`
        : `openssl pkey -pubin -inform DER -in ${path} -out key.pub.pem (a certificate: openssl x509 -inform DER -in ${path} -out cert.pem)`,
    );
}

/** The whole PEM blocks of `text` that hold a key: public, private (unencrypted) or certificate. */
function keyBlocks(text: string): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)]
    .filter((m) => PUBLIC_LABEL.test(m[1]!) || PRIVATE_LABEL.test(m[1]!) || CERTIFICATE_LABEL.test(m[1]!))
    .map((m) => m[0]);
}

/** How many PEM blocks of `text` have a label (the word after BEGIN) matching `label`. */
function pemBlocks(text: string, label: RegExp): number {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].filter((m) => label.test(m[1]!)).length;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}
