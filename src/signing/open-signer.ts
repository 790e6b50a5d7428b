// Turns one key spec into a Signer: a `pkcs11:` URI (RFC 7512) opens a key on a token, a sign
// command becomes a CommandSigner, anything else is a PEM private key file.

import { UsageError } from '../errors/ota-error.js';
import { CommandSigner } from './command-signer.js';
import { loadSigner, loadVerifier } from './load-key.js';
import type { SignerOptions } from './signer-options.js';
import type { Signer } from './signer.js';

export type { SignerOptions } from './signer-options.js';

/** True when a key spec is a PKCS#11 URI rather than a file path. */
export function isPkcs11Uri(spec: string): boolean {
  return /^pkcs11:/i.test(spec);
}

/** Opens the signer a key spec (or the sign command) names. */
export async function openSigner(spec: string | { command: string }, options: SignerOptions): Promise<Signer> {
  if (typeof spec !== 'string') {
    if (!options.signPubkeyPath) {
      throw new UsageError(
        'SIGN_PUBKEY_REQUIRED',
        '--sign-command needs --sign-pubkey <pem>: its signatures are checked against that key',
      );
    }
    return new CommandSigner(spec.command, await loadVerifier(options.signPubkeyPath), options.signTimeoutSeconds);
  }
  if (isPkcs11Uri(spec)) {
    const { Pkcs11Signer } = await import('./pkcs11-signer.js');
    return Pkcs11Signer.open(spec, options);
  }
  return loadSigner(spec);
}
