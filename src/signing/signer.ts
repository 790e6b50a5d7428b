// The Signer and Verifier roles. The pipeline asks a Signer for a signature over a statement
// (FORMAT.md §5) and never knows whether a PEM file, a PKCS#11 token or a sign command made it.

import type { SignatureAlgorithmInfo } from '../model/signature-algorithm.js';

/** Signs statements with one private key, wherever that key lives. */
export interface Signer {
  readonly algorithm: SignatureAlgorithmInfo;
  /** sha256 of the public key's SPKI DER. */
  readonly keyId: Uint8Array;
  /** Signs one statement; async because tokens and sign commands are I/O. */
  sign(statement: Uint8Array): Promise<Uint8Array>;
  /** A verifier for this signer's public key (checks every signature before it is written). */
  verifier(): Verifier;
}

/** Checks statements against a public key. */
export interface Verifier {
  readonly algorithm: SignatureAlgorithmInfo;
  readonly keyId: Uint8Array;
  verify(statement: Uint8Array, signature: Uint8Array): boolean;
}
