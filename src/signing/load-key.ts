// Reads PEM key files into Signers and Verifiers with typed, one-line errors
// (missing file: exit 8; not a key, wrong kind of key: exit 6; unsupported algorithm: exit 7).

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { ioError, OtaError, SignatureError } from '../errors/ota-error.js';
import { readBoundedFile } from '../image/read-bounded-file.js';
import { KeySigner, KeyVerifier, type Signer, type Verifier } from './key-pair.js';

/** Key files larger than this are not keys. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

async function readKeyFile(path: string): Promise<Buffer> {
  return readBoundedFile(path, {
    maxBytes: MAX_KEY_FILE_BYTES,
    action: 'read key file',
    // A folder stays the I/O error it always was (EISDIR); a FIFO or device is not a key.
    notFile: (stats) =>
      stats.isDirectory()
        ? ioError('read key file', path, Object.assign(new Error('EISDIR'), { code: 'EISDIR' }))
        : new SignatureError('KEY_INVALID', `${path} is not a regular file; a PEM key is a small file`),
    tooLarge: (sizeBytes) =>
      new SignatureError('KEY_INVALID', `${path} is ${sizeBytes} bytes; a PEM key is at most ${MAX_KEY_FILE_BYTES}`),
  });
}

/** Loads a PKCS#8 (or traditional) PEM private key as a Signer. */
export async function loadSigner(path: string): Promise<Signer> {
  const pem = await readKeyFile(path);
  if (/-----BEGIN PUBLIC KEY-----/.test(pem.toString('latin1'))) {
    throw new SignatureError(
      'KEY_NOT_PRIVATE',
      `${path} is a public key; --key takes the private key (the .pem without .pub)`,
    );
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new SignatureError('KEY_INVALID', `${path} is not a PEM private key: ${firstLine(err)}`);
  }
  return new KeySigner(privateKey, path, createPublicKey(privateKey));
}

/** Loads an SPKI PEM public key (or derives it from a private key file) as a Verifier. */
export async function loadVerifier(path: string): Promise<Verifier> {
  const pem = await readKeyFile(path);
  try {
    return new KeyVerifier(createPublicKey(pem), path);
  } catch (err) {
    if (err instanceof OtaError) throw err;
    throw new SignatureError('KEY_INVALID', `${path} is not a PEM public key: ${firstLine(err)}`);
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}
