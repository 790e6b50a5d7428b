// `ota-build verify`: what CI runs on a package (structure, both signatures, blob hashes, optional trial apply).

import { Command } from 'commander';
import { CliReporter } from '../cli-reporter.js';
import type { CommandResult } from '../command-result.js';
import { collect } from '../parse-options.js';
import { deviceCheckOptions, withDeviceOptions } from '../device-check-options.js';
import { printableLines } from '../../errors/printable.js';
import { transportFrom, transportJson, withTransportOptions } from '../transport-options.js';

/** Declares the command. */
export function verifyCommand(run: (work: () => Promise<CommandResult>) => Promise<void>): Command {
  const command = withTransportOptions(new Command('verify'))
    .summary('check a package: structure, both signatures, every blob hash')
    .description(
      "Exit 0 only when everything checks. With --old it also applies the package to a temp copy and checks the result's sha256. The --device-* options make the refusals the device would (another target or platform, an older build, limits of its profile), so CI sees them first.",
    )
    .argument('<package>', 'package file (.otapkg), its metadata prefix (with --metadata-only), or http(s) URL')
    .option(
      '--metadata-only',
      'check only the metadata prefix (header … metadata signature); fetches nothing else. A file must be exactly that prefix or the whole package (any other length is a cut copy: PKG_TRUNCATED)',
    )
    .option(
      '--pubkey <pem>',
      'key to verify with (PEM: a public key, a certificate or the private key); repeatable: accepted when any of them signs (key rotation). Default: the public test key, with a warning',
      collect,
    )
    .option('--old <img|release>', 'also prove the package applies to this image (or every partition of this release)');
  return withDeviceOptions(command)
    .option('--strict', 'treat warnings (e.g. the public test key) as errors: STRICT_<code>, exit 2')
    .option('--json', 'print the report as JSON on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  ota-build verify out/update-qualcomm.otapkg --pubkey release.pub.pem\n  ota-build verify out/update-qualcomm.otapkg --pubkey old-release.pub.pem --pubkey new-release.pub.pem\n  ota-build verify out/update-qualcomm.otapkg --pubkey release.pub.pem --old v1.img --device-target qualcomm --json\n  ota-build verify https://cdn.example/update-qualcomm.otapkg --pubkey release.pub.pem --retries 3   # streams it once, stores nothing\n  ota-build verify prefix.otapkg --metadata-only --pubkey release.pub.pem   # just the metadata prefix (metadataSizeBytes in properties.json)',
    )
    .action(async (pkg: string, o) => {
      await run(async () => {
        const reporter = await CliReporter.create({ strict: o.strict });
        const { verifyPackage } = await import('../../verify/verify-package.js');
        const t = transportFrom(pkg, o);
        const r = await verifyPackage({
          packagePath: pkg,
          oldPath: o.old,
          ...deviceCheckOptions(o),
          metadataOnly: o.metadataOnly,
          http: t.http,
          reporter,
        }).finally(t.done);
        const net = transportJson(pkg, t.stats());
        return {
          json: { ok: true, ...r, ...net, warnings: reporter.warnings },
          text: printableLines(
            `OK ${r.package}: ${r.target}, ${r.signatureAlgorithm} key ${r.keyId.slice(0, 16)}…\n${r.checks.map((c) => `  ✓ ${c.text}`).join('\n')}`,
          ),
        };
      });
    });
}
