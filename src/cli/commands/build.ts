// `ota-build build`: one signed package per target from an old and a new image or release.

import { Command, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { withInterruptHint } from '../interrupt-hint.js';
import { CliReporter } from '../cli-reporter.js';
import type { CommandResult } from '../command-result.js';
import { printable, printableLines } from '../../errors/printable.js';
import { checkSigningOptions } from '../check-signing-options.js';
import {
  MAX_TIMESTAMP_SECONDS,
  collect,
  parseIntOption,
  signingOptionsFrom,
  splitKeys,
  splitList,
  timestampFrom,
} from '../parse-options.js';
import { formatBytes, formatPercent, renderTable } from '../render.js';
import { CODEC_LEVELS } from '../../codecs/codec-levels.js';

/** Each codec's levels and default, for --level's help (the table the codecs take them from). */
const LEVEL_RANGES = (['gzip', 'brotli', 'zstd', 'xz'] as const)
  .map((name) => {
    const c = CODEC_LEVELS[name];
    return `${name} ${c.minLevel}..${c.maxLevel} (default ${c.defaultLevel})`;
  })
  .join(', ');

/** Declares the command; `run` is given the finished result. */
export function buildCommand(run: (work: () => Promise<CommandResult>) => Promise<void>): Command {
  return new Command('build')
    .summary('build signed delta (or full) packages, one per chipset target')
    .description(
      'Reads the old and new images, computes the block-level diff once, and writes <dir>/update-<target>.otapkg for each target. Without --old it builds a full package.\n\nA release (a folder or layout file: Qualcomm rawprogram*.xml, MediaTek *_Android_scatter.txt, Unisoc .pac, or a folder of <partition>.img files) gives one package per target holding every changed partition; unchanged ones are listed by hash, and partitions the layout marks as not upgradable are left out unless named in --partitions.',
    )
    .requiredOption('--new <img|release>', 'new image or release (what the device should end up with)')
    .option('--old <img|release>', 'old image or release the device has now (omit for a full package)')
    .requiredOption('-o, --out <dir>', 'output folder (created if missing)')
    .option(
      '--target <ids>',
      "comma list: qualcomm|qcom|snapdragon, mediatek|mtk, unisoc|spreadtrum|sprd, generic, or a profile .json path (default: a vendor release's own chipset, else qualcomm,mediatek,unisoc); targets built together share one plan, cut to the smallest op size among them (a target with larger ops may get a smaller package built alone)",
    )
    .option('--partitions <names>', 'releases: update only these partitions (comma list, no slot suffix)', splitList)
    .option(
      '--exclude <names>',
      'releases: leave these partitions out (comma list; may name one the new release removed, to say that is meant)',
      splitList,
    )
    .option('--codec <name>', 'auto (smallest per op among allowed codecs) | none | gzip | brotli | zstd | xz', 'auto')
    .option('--level <n>', `compression level for --codec: ${LEVEL_RANGES}`, parseIntOption('--level', 0))
    .option(
      '--differ <name>',
      "auto | bsdiff-lzma (bsdiff's scan, sparse diff, LZMA2: the usual winner) | zstd-dict | bsdiff | bsdf2 (bsdiff with brotli blocks, Android's layout) | deflate-aware (zip/gzip/zlib members inflated, diffed and re-deflated exactly) | exec-aware (AArch64/x86-64 code: branches and calls follow their moved targets)",
      'auto',
    )
    .option(
      '--key <pem|uri>',
      "private key: a PEM file or a PKCS#11 URI 'pkcs11:token=…;object=…'; <target>=<key> for one target (its keys replace the ones and the --sign-command given for all targets); repeat to sign with up to 4 keys (key rotation); once any key is given, every target needs one; with none at all: the public test keys",
      collect,
    )
    .option(
      '--pkcs11-module <path>',
      'PKCS#11 module for pkcs11: keys (default: $OTA_PKCS11_MODULE); PIN: pin-source=file:… in the URI or $OTA_PKCS11_PIN',
    )
    .option(
      '--sign-command <cmd>',
      'also sign with this shell command: statement on stdin, signature on stdout (needs --sign-pubkey)',
    )
    .option('--sign-pubkey <pem>', "public key of --sign-command's key; every signature is checked against it")
    .option(
      '--sign-timeout <seconds>',
      'seconds --sign-command may take per signature (default 60)',
      parseIntOption('--sign-timeout', 1, 3600),
    )
    .addOption(
      new Option(
        '--update-mode <mode>',
        "ab, or in-place for devices without a B slot (ops ordered to rewrite the old image where it is, the stash within each profile's maxStashBytes: see `ota-build targets`; applied with apply --in-place); default: the profile's",
      ).choices(['ab', 'in-place']),
    )
    .option('--platform <soc>', "SoC/platform label written into the target header (default: the profile's)")
    .option('--source-version <s>', 'version label of the old image')
    .option('--target-version <s>', 'version label of the new image')
    .option('--partition-name <name>', "partition the image belongs to (default: the profile's, usually system)")
    .option(
      '--timestamp <seconds>',
      'anti-rollback timestamp (default: $SOURCE_DATE_EPOCH; none or 0 warns NO_TIMESTAMP: no rollback protection, and a device that has a timestamp refuses the package)',
      parseIntOption('--timestamp', 0, MAX_TIMESTAMP_SECONDS),
    )
    .option(
      '-j, --jobs <n>',
      `encoder worker threads (default: ${availableParallelism()})`,
      parseIntOption('--jobs', 1, 256),
    )
    .option('--progress', 'show progress even when stderr is not a terminal')
    .option('--strict', 'treat warnings (e.g. test keys) as errors')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText(
      'after',
      "\nExamples:\n  ota-build build --old v1.img --new v2.img -o out\n  ota-build build --old v1/ --new v2/ -o out --exclude userdata   # Qualcomm: every rawprogram<N>.xml (one file: that LUN only)\n  ota-build build --old v1.img --new v2.img -o out --target mtk --key release.pem\n  ota-build build --new v2.img -o full --codec xz --level 9\n  ota-build build --old v1.img --new v2.img -o out --target unisoc --update-mode in-place --json   # inPlace: peak stash, ops turned into REPLACE\n\nSigning in a release pipeline:\n  ota-build build --old v1.img --new v2.img -o out --key 'pkcs11:token=release;object=ota-2026' --pkcs11-module /usr/lib/softhsm/libsofthsm2.so   # PIN from $OTA_PKCS11_PIN\n  ota-build build --old v1.img --new v2.img -o out --sign-command 'openssl pkeyutl -sign -inkey k.pem -rawin -in /dev/stdin' --sign-pubkey k.pub.pem\n  ota-build build --old v1.img --new v2.img -o out --key old.pem --key new.pem   # key rotation: both sign",
    )
    .action(async (o) => {
      await run(async () => {
        checkSigningOptions(o);
        // The workers start first: they load and are ready to hash while this thread loads the build.
        const { EncodePool } = await import('../../pipeline/encode-pool.js');
        const pool = EncodePool.create(o.jobs);
        const build = async () => {
          // Warnings (test key, no timestamp) wait until the inputs are open: a build that fails on
          // them prints its error alone.
          const reporter = await CliReporter.create({
            forceProgress: o.progress,
            strict: o.strict,
            holdWarnings: true,
          });
          const { buildPackages } = await import('../../pipeline/build-packages.js');
          const { builtinTargets, resolveTargets } = await import('../../targets/target-registry.js');
          const named = o.target ? await resolveTargets(o.target) : builtinTargets();
          const built = await buildPackages({
            pool,
            oldPath: o.old,
            newPath: o.new,
            outDir: o.out,
            targets: o.target,
            codec: o.codec,
            level: o.level,
            differ: o.differ,
            ...splitKeys(o.key ?? [], named, [...named, ...builtinTargets()]),
            signing: signingOptionsFrom(o, process.env),
            platform: o.platform,
            sourceVersion: o.sourceVersion,
            targetVersion: o.targetVersion,
            partitionName: o.partitionName,
            partitions: o.partitions,
            excludePartitions: o.exclude,
            timestampSeconds: timestampFrom(o.timestamp, process.env),
            updateMode: o.updateMode,
            reporter,
          }).finally(() => reporter.stop());
          reporter.showHeldWarnings();
          return { result: built, warnings: reporter.warnings };
        };
        // buildPackages closes the pool; this also covers a failure before it is called.
        const { result, warnings } = await withInterruptHint(
          'the build did not finish and its temporary files are removed: run the same command again',
          build,
          o.json,
        ).finally(() => pool.close());
        const rows = result.packages.map((p) => [
          p.target,
          p.path,
          formatBytes(p.sizeBytes),
          formatPercent(p.sizeBytes, result.newSizeBytes),
          p.signatureAlgorithm,
        ]);
        const what = result.target
          ? `${result.target.format} image ${printable(result.target.path)}`
          : `${result.input} release ${printable(o.new)} (${result.partitions.length} partition${result.partitions.length === 1 ? '' : 's'})`;
        const parts = result.target
          ? ''
          : renderTable(
              ['partition', 'status', 'new size', 'old size'],
              result.partitions.map((p) => [
                p.name,
                p.status,
                formatBytes(p.target.sizeBytes),
                p.source ? formatBytes(p.source.sizeBytes) : '-',
              ]),
            ) + '\n';
        const text =
          `${result.kind} packages for ${formatBytes(result.newSizeBytes)} ${what}\n` +
          parts +
          renderTable(['target', 'package', 'size', '% of new', 'signature'], rows) +
          result.packages
            .filter((p) => p.inPlace)
            .map(
              (p) =>
                `\n${p.target}: in-place, stash peak ${formatBytes(p.inPlace!.peakStashBytes)} in ${p.inPlace!.stashOps} stashes, ${p.inPlace!.convertedReplaceOps} ops turned into REPLACE`,
            )
            .join('');
        return { json: { ...result, warnings }, text: printableLines(text) };
      });
    });
}
