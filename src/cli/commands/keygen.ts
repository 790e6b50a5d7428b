// `ota-build keygen`: writes <prefix>.pem (PKCS#8, 0600) and <prefix>.pub.pem (SPKI).

import { Command } from 'commander';
import type { CommandResult } from '../command-result.js';
import { UsageError } from '../../errors/ota-error.js';
import { printable } from '../../errors/printable.js';

/** Declares the command. */
export function keygenCommand(run: (work: () => Promise<CommandResult>) => Promise<void>): Command {
  return new Command('keygen')
    .summary('generate a signing key pair')
    .requiredOption(
      '--algorithm <alg>',
      'required: ed25519 | ecdsa-p256 | ecdsa-p384 | rsa-2048 | rsa-4096 (ed25519 and rsa-* sign deterministically)',
    )
    .requiredOption(
      '-o, --out <prefix>',
      'required: writes <prefix>.pem (private, mode 0600) and <prefix>.pub.pem (public)',
    )
    .option(
      '--pkcs11 <uri>',
      "generate the key inside this PKCS#11 token ('pkcs11:token=…;object=<label>'); writes only <prefix>.pub.pem",
    )
    .option(
      '--pkcs11-module <path>',
      'PKCS#11 module (default: $OTA_PKCS11_MODULE); PIN: pin-source in the URI or $OTA_PKCS11_PIN',
    )
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText(
      'after',
      "\nExample:\n  ota-build keygen --algorithm ed25519 -o release   # release.pem (secret) + release.pub.pem (ship to devices)\n  OTA_PKCS11_PIN=… ota-build keygen --algorithm rsa-2048 --pkcs11 'pkcs11:token=release;object=ota-2027' --pkcs11-module /usr/lib/softhsm/libsofthsm2.so -o ota-2027",
    )
    .action(async (o) => {
      await run(async () => {
        if (o.pkcs11Module !== undefined && !o.pkcs11)
          throw new UsageError(
            'BAD_OPTION',
            '--pkcs11-module applies with --pkcs11 (the key is made inside that token); without it the key is written to <prefix>.pem',
          );
        if (o.pkcs11) {
          const { pkcs11Keygen } = await import('../../signing/pkcs11-keygen.js');
          const { signingOptionsFrom } = await import('../parse-options.js');
          const r = await pkcs11Keygen(o.algorithm, o.pkcs11, o.out, signingOptionsFrom(o, process.env));
          const text = `generated ${printable(r.privateKeyPath)} (sign with --key '<that URI>') and wrote ${printable(r.publicKeyPath)}; key id ${r.keyId.slice(0, 16)}…`;
          return { json: r, text };
        }
        const { keygen } = await import('../../signing/keygen.js');
        const r = await keygen(o.algorithm, o.out);
        return {
          json: r,
          text: `wrote ${printable(r.privateKeyPath)} (keep it secret) and ${printable(r.publicKeyPath)}; key id ${r.keyId.slice(0, 16)}…`,
        };
      });
    });
}
