// `ota-build targets`: lists the chipset target profiles.

import { Command } from 'commander';
import { printableLines } from '../../errors/printable.js';
import { UsageError } from '../../errors/ota-error.js';
import type { CommandResult } from '../command-result.js';
import { formatBytes, renderTable } from '../render.js';

/** Declares the command. */
export function targetsCommand(run: (work: () => Promise<CommandResult>) => Promise<void>): Command {
  return new Command('targets')
    .summary('list chipset target profiles')
    .argument(
      '[target]',
      'show only this target (id or alias, or a profile .json file, which is checked); with --json, one profile object: a custom profile to start from',
    )
    .option('--json', 'print the profiles as JSON on stdout (an array; one object with [target])')
    .addHelpText(
      'after',
      '\nExamples:\n  ota-build targets\n  ota-build targets qualcomm --json > my-soc.json   # then edit it and use --target ./my-soc.json\n  ota-build targets ./my-soc.json                   # checks the edited profile and shows it',
    )
    .action(async (only: string | undefined, o) => {
      await run(async () => {
        const { builtinTargets, resolveTargets } = await import('../../targets/target-registry.js');
        const targets = only === undefined ? builtinTargets() : await resolveTargets(only);
        if (only !== undefined && (targets.length !== 1 || only.includes(',')))
          throw new UsageError('BAD_OPTION', `targets takes one target id or alias, got ${only}`);
        const rows = targets.map((t) => [
          [t.id, ...t.aliases].join('|'),
          t.vendor,
          t.storage,
          String(t.blockSizeBytes),
          t.updateMode,
          t.defaultSignatureAlgorithm,
          formatBytes(t.decoderMemoryLimitBytes),
          formatBytes(t.maxOperationBytes),
          formatBytes(t.maxStashBytes),
          t.allowedCodecs.join(','),
        ]);
        const text =
          renderTable(
            [
              'target',
              'vendor',
              'storage',
              'block',
              'mode',
              'signature',
              'decoder mem',
              'max op',
              'max stash',
              'codecs',
            ],
            rows,
          ) +
          '\n\n' +
          targets.map((t) => `${t.id}: ${t.signatureRationale}.`).join('\n') +
          '\n\nmax stash: the most old blocks an in-place update (build --update-mode in-place) may keep at once in' +
          "\nthe device's stash folder; sized to what recovery's /cache can spare (see README, Chipset targets)." +
          '\n\nCustom targets: pass a profile file, e.g. --target ./my-soc.json (same fields as `targets --json`).';
        return { json: only === undefined ? targets : targets[0], text: o.json ? '' : printableLines(text) };
      });
    });
}
