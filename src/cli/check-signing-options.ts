// build's signing options that need another to act on: refused when it is missing, so a
// templating slip never turns a release build into a test-signed one.

import { UsageError } from '../errors/ota-error.js';

/**
 * Refuses signing options that have nothing to act on (BAD_OPTION): --sign-pubkey or
 * --sign-timeout without --sign-command, --pkcs11-module without a pkcs11: key. Dropped silently,
 * the build would be signed with the public test key (or other keys) instead of the one meant.
 */
export function checkSigningOptions(o: {
  key?: readonly string[];
  pkcs11Module?: string;
  signCommand?: string;
  signPubkey?: string;
  signTimeout?: number;
}): void {
  const orphan = (option: string, needs: string) =>
    new UsageError(
      'BAD_OPTION',
      `${option} applies to ${needs}, and none is given: it would be ignored (nothing was written)`,
    );
  if (o.signCommand === undefined) {
    if (o.signPubkey !== undefined) throw orphan('--sign-pubkey', '--sign-command');
    if (o.signTimeout !== undefined) throw orphan('--sign-timeout', '--sign-command');
  }
  if (o.pkcs11Module !== undefined && !(o.key ?? []).some((k) => /(^|=)pkcs11:/.test(k)))
    throw orphan('--pkcs11-module', "a pkcs11: key (--key 'pkcs11:token=…;object=…')");
}
