// `apply --in-place <image> --stash-dir <dir>`: the CLI side of an in-place apply, kept out of
// the apply command file: only the options that make sense when the image is rewritten where it is.

import type { CliReporter } from './cli-reporter.js';
import type { CommandResult } from './command-result.js';
import { applyText } from './apply-text.js';
import { printableLines } from '../errors/printable.js';
import { UsageError } from '../errors/ota-error.js';
import { transportFrom, transportJson } from './transport-options.js';

/** `apply --in-place`: only the options that make sense when the image is rewritten where it is. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander's parsed options
export async function inPlace(pkg: string, o: Record<string, any>, reporter: CliReporter): Promise<CommandResult> {
  const clash = (['out', 'old', 'resume', 'outputFormat'] as const).find((k) => o[k] !== undefined);
  if (clash)
    throw new UsageError(
      'BAD_OPTION',
      `--in-place rewrites the image it names: --${clash === 'out' ? 'out (-o)' : clash === 'outputFormat' ? 'output-format' : clash} cannot be used with it`,
    );
  if (o.inPlace === undefined || o.stashDir === undefined)
    throw new UsageError('BAD_OPTION', '--in-place <image> and --stash-dir <dir> go together');
  const { applyInPlace } = await import('../apply/apply-in-place.js');
  const t = transportFrom(o);
  const r = await applyInPlace({
    packagePath: pkg,
    inPlacePath: o.inPlace,
    stashDir: o.stashDir,
    pubkeyPath: o.pubkey,
    deviceTarget: o.deviceTarget,
    deviceProfilePath: o.deviceProfile,
    devicePlatform: o.devicePlatform,
    deviceTimestampSeconds: o.deviceTimestamp,
    deviceStatePath: o.deviceState,
    allowDowngrade: o.allowDowngrade,
    http: t.http,
    reporter,
  }).finally(t.done);
  const net = transportJson(pkg, t.stats());
  return { json: { ...r, ...net, warnings: reporter.warnings }, text: printableLines(applyText(r)) };
}
