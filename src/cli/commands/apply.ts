// `ota-build apply`: the reference applier (old image read-only; output renamed into place only after it verifies).

import { deviceCheckOptions, withDeviceOptions } from '../device-check-options.js';
import { Command, Option } from 'commander';
import { CliReporter } from '../cli-reporter.js';
import type { CommandResult } from '../command-result.js';
import { printableLines } from '../../errors/printable.js';
import { collect, parseIntOption } from '../parse-options.js';
import { applyText } from '../apply-text.js';
import { transportFrom, transportJson, withTransportOptions } from '../transport-options.js';
import { IN_PLACE_EXAMPLES, IN_PLACE_HELP, inPlace } from '../in-place-apply.js';
import { withInterruptHint } from '../interrupt-hint.js';
import { sideFilesOf } from '../../apply/side-files.js';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What to do after an interrupted A/B apply to `out`, judged when it happens from what is there:
 * a block device is part-written; a release folder keeps its staging folder for --resume; a file
 * keeps its partial output, resumable only once a checkpoint names some of it (a sparse output
 * and the start of an apply have none: --resume would restart, which --strict refuses).
 */
function resumeHint(out: string): string {
  const node = (() => {
    try {
      return statSync(out);
    } catch {
      return undefined;
    }
  })();
  if (node?.isBlockDevice())
    return 'the block device holds part of the new image and is not usable: run the same command again to write it whole';
  if (node?.isDirectory())
    return stagedIn(out)
      ? 'the images in the output folder are not replaced yet: run the same command with --resume to go on from the partitions already staged'
      : 'the output folder is as it was (nothing was staged yet): run the same command again';
  // Side files sit beside the file a symbolic link -o names (apply replaces that file).
  const file = (() => {
    try {
      return node?.isFile() ? realpathSync(out) : out;
    } catch {
      return out;
    }
  })();
  return existsSync(sideFilesOf(file).checkpointPath)
    ? 'the output is not replaced yet; its partial file and last checkpoint are kept: run the same command with --resume to continue from there'
    : 'the output is not replaced yet, and no checkpoint was written: run the same command again';
}

/** Whether a release apply's staging folder (`.ota-staging-*`) in `folder` holds anything yet. */
function stagedIn(folder: string): boolean {
  try {
    return readdirSync(folder)
      .filter((n) => n.startsWith('.ota-staging-'))
      .some((n) => readdirSync(join(folder, n)).length > 0);
  } catch {
    return false;
  }
}

/** Declares the command. */
export function applyCommand(run: (work: () => Promise<CommandResult>) => Promise<void>): Command {
  const command = withTransportOptions(new Command('apply'))
    .summary('apply a package to an old image (or release), producing the new image(s)')
    .description(
      "Checks the signatures, the target and the old image's sha256 before writing anything; writes the output to a temp file beside it and renames it into place only when its sha256 matches the package. A block device as -o is written in place and read back; a character device, FIFO or socket is refused (exit 2).\n\nA release package (built from two releases) takes the old release with --old and a folder with -o: every partition is checked first, written into a staging folder, and moved to <folder>/<partition>.img only when all of them verify.\n\n" +
        IN_PLACE_HELP,
    )
    .argument('<package>', 'package file (.otapkg) or http(s) URL (streamed by ranges, never stored)')
    .option('--old <img|release>', 'old image or release (required for delta packages; opened read-only)')
    .option(
      '-o, --out <img|dev|dir>',
      'the new image: a file (written beside, renamed) or a block device (in place); a folder for release packages',
    )
    .option(
      '--in-place <img|dev>',
      'in-place packages: rewrite this image (file or block device) where it is, instead of --old/-o; after a power cut or failure, run the same command again',
    )
    .option(
      '--stash-dir <dir>',
      'with --in-place: folder for old blocks saved before they are overwritten; not on the image, free space for the stash peak (inspect shows it); created 0700, kept while a re-run needs it, removed at the end',
    )
    .option(
      '--pubkey <pem>',
      'key to verify with (PEM: a public key, a certificate or the private key); repeatable: accepted when any of them signs (key rotation). Default: the public test key, with a warning',
      collect,
    );
  return withDeviceOptions(command)
    .option(
      '--resume',
      'continue an interrupted apply from its last checkpoint (re-verifies the partial output first; a URL continues the download from there); not for --in-place',
    )
    .addOption(
      new Option(
        '--checkpoint-every <bytes>',
        'output bytes between checkpoints, the points --resume continues from (default 64 MiB; 4096..2^40): smaller for a slow or costly download',
      ).argParser(parseIntOption('--checkpoint-every', 4096, 2 ** 40)),
    )
    .addOption(
      new Option(
        '--output-format <format>',
        'raw or sparse (Android sparse image; default: the format of --old, raw for an image of part of a block)',
      ).choices(['raw', 'sparse']),
    )
    .option('--strict', 'treat warnings (e.g. the public test key) as errors: STRICT_<code>, exit 2')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  ota-build apply out/update-mediatek.otapkg --old v1/MT6789_Android_scatter.txt -o v2-images/\n  ota-build apply out/update-qualcomm.otapkg --old v1.img -o v2.img --pubkey release.pub.pem --device-target qualcomm\n  ota-build apply pkg.otapkg --old v1.img -o v2.img --device-state /data/ota/device.json --resume\n' +
        IN_PLACE_EXAMPLES,
    )
    .hook('preAction', (cmd) => {
      // -o is required unless the image is rewritten in place (commander's own wording and exit).
      const o = cmd.opts();
      if (o.out === undefined && o.inPlace === undefined && o.stashDir === undefined)
        cmd.error("error: required option '-o, --out <img|dev|dir>' not specified", {
          code: 'commander.missingMandatoryOptionValue',
        });
    })
    .action(async (pkg: string, o) => {
      await run(async () => {
        const reporter = await CliReporter.create({ strict: o.strict });
        if (o.inPlace !== undefined || o.stashDir !== undefined) return inPlace(pkg, o, reporter);
        const { applyPackage } = await import('../../apply/apply-package.js');
        const t = transportFrom(pkg, o);
        const r = await withInterruptHint(
          () => resumeHint(o.out),
          () =>
            applyPackage({
              packagePath: pkg,
              oldPath: o.old,
              outputPath: o.out,
              ...deviceCheckOptions(o),
              outputFormat: o.outputFormat,
              resume: o.resume,
              checkpointEveryBytes: o.checkpointEvery,
              http: t.http,
              reporter,
            }),
          o.json,
        ).finally(t.done);
        const net = transportJson(pkg, t.stats());
        return { json: { ...r, ...net, warnings: reporter.warnings }, text: printableLines(applyText(r)) };
      });
    });
}
