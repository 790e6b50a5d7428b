// Options that reach signers other than PEM files: PKCS#11 module and PIN, the sign command.

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
