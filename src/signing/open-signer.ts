// Turns one key spec into a Signer: a `pkcs11:` URI (RFC 7512) opens a key on a token, a sign
// command becomes a CommandSigner, anything else is a PEM private key file.

import { UsageError } from '../errors/ota-error.js';
import { CommandSigner } from './command-signer.js';
import { loadSigner, loadVerifier } from './load-key.js';
import type { Signer } from './signer.js';

/** Where keys that are not PEM files live, and how to reach them. */
export interface SignerOptions {
  /** PKCS#11 module (shared library); a URI's `module-path` overrides it. */
  readonly pkcs11ModulePath?: string;
  /** PKCS#11 user PIN when the URI has no `pin-source`. Never printed. */
  readonly pkcs11Pin?: string;
  /** Shell command that signs a statement from stdin to stdout. */
  readonly signCommand?: string;
  /** PEM public key of the sign command's key (required with signCommand). */
  readonly signPubkeyPath?: string;
  /** Seconds a sign command may take per signature. */
  readonly signTimeoutSeconds?: number;
}

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
