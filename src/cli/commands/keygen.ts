// `ota-build keygen`: writes <prefix>.pem (PKCS#8, 0600) and <prefix>.pub.pem (SPKI).

import { Command } from 'commander';
import type { CommandResult } from '../command-result.js';

/** Declares the command. */
export function keygenCommand(run: (work: () => Promise<CommandResult>) => Promise<void>): Command {
  return new Command('keygen')
    .summary('generate a signing key pair')
    .requiredOption(
      '--algorithm <alg>',
      'ed25519 | ecdsa-p256 | ecdsa-p384 | rsa-2048 | rsa-4096 (ed25519 and rsa-* sign deterministically)',
    )
    .requiredOption('-o, --out <prefix>', 'writes <prefix>.pem (private, mode 0600) and <prefix>.pub.pem (public)')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText(
      'after',
      '\nExample:\n  ota-build keygen --algorithm ed25519 -o release   # release.pem (secret) + release.pub.pem (ship to devices)',
    )
    .action(async (o) => {
      await run(async () => {
        const { keygen } = await import('../../signing/keygen.js');
        const r = await keygen(o.algorithm, o.out);
        return {
          json: r,
          text: `wrote ${r.privateKeyPath} (keep it secret) and ${r.publicKeyPath}; key id ${r.keyIdHex.slice(0, 16)}…`,
        };
      });
    });
}
