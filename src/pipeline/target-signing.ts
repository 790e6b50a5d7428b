// Which keys sign each target's package in a build: a target's own keys (`--key <target>=…`)
// replace the keys and the sign command given for all targets; and the refusals, before any work,
// of a key set that would leave a target test-signed or a key given for nothing.

import { UsageError } from '../errors/ota-error.js';
import type { SignerOptions } from '../signing/signer-options.js';
import type { BuildOptions } from './build-options.js';

/** The key specs and signer options that sign one target's package. */
export function signingFor(
  options: BuildOptions,
  targetId: string,
): { keys: readonly string[]; signing: SignerOptions } {
  const own = ownKeys(options, targetId);
  // A target given keys of its own is signed by those only: not by the keys or the sign command for all.
  if (own !== undefined) return { keys: own, signing: { ...options.signing, signCommand: undefined } };
  return { keys: keysForAll(options), signing: options.signing ?? {} };
}

/**
 * Refuses, before any work: a build where some key is given (a PEM, a token key, a sign command,
 * for all targets or some) but a target has none, which would be signed with the public test key
 * (KEY_MISSING); and keys or a sign command for all targets when every target has keys of its own,
 * which would sign nothing (BAD_OPTION).
 */
export function checkTargetSigning(options: BuildOptions, targetIds: readonly string[]): void {
  const forAll = keysForAll(options).length > 0 || options.signing?.signCommand !== undefined;
  const withOwn = targetIds.filter((id) => ownKeys(options, id) !== undefined);
  if (!forAll && withOwn.length === 0) return;
  const unsigned = targetIds.filter((id) => {
    const { keys, signing } = signingFor(options, id);
    return keys.length === 0 && signing.signCommand === undefined;
  });
  if (unsigned.length > 0)
    throw new UsageError(
      'KEY_MISSING',
      `no key for target${unsigned.length > 1 ? 's' : ''} ${unsigned.join(', ')}: keys are given for the others only, and a target without one would be signed with the public test key; give each target a key (--key <pem> for all, --key <target>=<pem> for one) or leave it out of --target (nothing was written)`,
    );
  if (forAll && withOwn.length === targetIds.length) {
    const unused = [
      ...(keysForAll(options).length > 0 ? ['the --key given for all targets'] : []),
      ...(options.signing?.signCommand !== undefined ? ['--sign-command'] : []),
    ].join(' and ');
    throw new UsageError(
      'BAD_OPTION',
      `every target has keys of its own (--key <target>=…), which replace ${unused}: it would sign nothing (nothing was written)`,
    );
  }
}

function ownKeys(options: BuildOptions, targetId: string): readonly string[] | undefined {
  const byTarget = options.keyPathByTarget?.[targetId];
  return options.keyPathsByTarget?.[targetId] ?? (byTarget !== undefined ? [byTarget] : undefined);
}

function keysForAll(options: BuildOptions): readonly string[] {
  return options.keyPaths ?? (options.keyPath ? [options.keyPath] : []);
}
