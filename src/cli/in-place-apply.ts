// `apply --in-place <image> --stash-dir <dir>`: the CLI side of an in-place apply, kept out of
// the apply command file: only the options that make sense when the image is rewritten where it is.

import { deviceCheckOptions } from './device-check-options.js';
import type { CliReporter } from './cli-reporter.js';
import type { CommandResult } from './command-result.js';
import { applyText } from './apply-text.js';
import { printableLines } from '../errors/printable.js';
import { UsageError } from '../errors/ota-error.js';
import { transportFrom, transportJson } from './transport-options.js';
import { withInterruptHint } from './interrupt-hint.js';

/** The in-place paragraph of `apply --help`. */
export const IN_PLACE_HELP =
  'An in-place package (build --update-mode in-place, for phones without a B slot) is applied with --in-place <image> --stash-dir <dir> instead of --old/-o: the image is rewritten where it is. Every check (signature, target, rollback, the image is the base or a state this package leaves) passes before the first write. --stash-dir keeps old blocks still needed after they are overwritten: put it on another file system than the image, with free space for the stash peak (`ota-build inspect <package>` shows it). After a power cut, a kill or any failure, run the same command again: it checks the image op by op and finishes (no --resume). Use the image only once the command exits 0: from a URL, the payload signature is checked after the last block is written.';

/** The in-place lines of `apply --help`'s examples. */
export const IN_PLACE_EXAMPLES =
  '  ota-build apply out/update-unisoc.otapkg --in-place /dev/block/by-name/system --stash-dir /cache/ota-stash\n  ota-build apply https://cdn.example/update-unisoc.otapkg --in-place system.img --stash-dir /cache/ota-stash --pubkey release.pub.pem   # same command again after a power cut';

/** `apply --in-place`: only the options that make sense when the image is rewritten where it is. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander's parsed options
export async function inPlace(pkg: string, o: Record<string, any>, reporter: CliReporter): Promise<CommandResult> {
  if (o.inPlace === undefined)
    throw new UsageError(
      'BAD_OPTION',
      '--stash-dir <dir> goes with --in-place <image> (an in-place apply); an A/B apply (--old, -o) keeps no stash',
    );
  // The A/B options, by how they are spelled. An in-place apply keeps no checkpoint either: a
  // re-run checks the image op by op instead.
  const flags = {
    out: 'out (-o)',
    old: 'old',
    resume: 'resume',
    outputFormat: 'output-format',
    checkpointEvery: 'checkpoint-every',
  } as const;
  const clash = (Object.keys(flags) as (keyof typeof flags)[]).find((k) => o[k] !== undefined);
  if (clash)
    throw new UsageError(
      'BAD_OPTION',
      `--in-place rewrites the image it names: --${flags[clash]} cannot be used with it`,
    );
  if (o.stashDir === undefined)
    throw new UsageError('BAD_OPTION', '--in-place <image> and --stash-dir <dir> go together');
  const { applyInPlace } = await import('../apply/apply-in-place.js');
  const t = transportFrom(pkg, o);
  const r = await withInterruptHint(
    'the image is part-way updated: run the same command again to finish it (do not use the image before)',
    () =>
      applyInPlace({
        packagePath: pkg,
        inPlacePath: o.inPlace,
        stashDir: o.stashDir,
        ...deviceCheckOptions(o),
        http: t.http,
        reporter,
      }),
    o.json,
  ).finally(t.done);
  const net = transportJson(pkg, t.stats());
  return { json: { ...r, ...net, warnings: reporter.warnings }, text: printableLines(applyText(r)) };
}
