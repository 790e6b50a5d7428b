// `ota-build build`: one signed package per target from an old and a new image.

import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { CliReporter } from '../cli-reporter.js';
import type { CommandResult } from '../command-result.js';
import { MAX_TIMESTAMP_SECONDS, collect, parseIntOption, splitKeys, timestampFrom } from '../parse-options.js';
import { formatBytes, formatPercent, renderTable } from '../render.js';

/** Declares the command; `run` is given the finished result. */
export function buildCommand(run: (work: () => Promise<CommandResult>) => Promise<void>): Command {
  return new Command('build')
    .summary('build signed delta (or full) packages, one per chipset target')
    .description('Reads the old and new images, computes the block-level diff once, and writes <dir>/update-<target>.otapkg for each target. Without --old it builds a full package.')
    .requiredOption('--new <img>', 'new image (what the device should end up with)')
    .option('--old <img>', 'old image the device has now (omit for a full package)')
    .requiredOption('-o, --out <dir>', 'output folder (created if missing)')
    .option('--target <ids>', 'comma list: qualcomm, mediatek|mtk, unisoc|spreadtrum|sprd, generic, or a profile .json path', 'qualcomm,mediatek,unisoc')
    .option('--codec <name>', 'auto (smallest per op among allowed codecs) | none | gzip | brotli | zstd | xz', 'auto')
    .option('--level <n>', 'compression level for --codec', parseIntOption('--level', 0, 22))
    .option('--differ <name>', 'auto | zstd-dict | bsdiff', 'auto')
    .option('--key <pem>', 'private key for all targets, or <target>=<pem> (repeatable); default: public test keys', collect, [])
    .option('--platform <soc>', 'SoC/platform label written into the target header (default: the profile\'s)')
    .option('--source-version <s>', 'version label of the old image')
    .option('--target-version <s>', 'version label of the new image')
    .option('--partition-name <name>', 'partition the image belongs to (default: the profile\'s, usually system)')
    .option('--timestamp <seconds>', 'anti-rollback timestamp (default: $SOURCE_DATE_EPOCH)', parseIntOption('--timestamp', 0, MAX_TIMESTAMP_SECONDS))
    .option('-j, --jobs <n>', `encoder worker threads (default: ${availableParallelism()})`, parseIntOption('--jobs', 1, 256))
    .option('--progress', 'show progress even when stderr is not a terminal')
    .option('--strict', 'treat warnings (e.g. test keys) as errors')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText('after', '\nExamples:\n  ota-build build --old v1.img --new v2.img -o out\n  ota-build build --old v1.img --new v2.img -o out --target mtk --key release.pem\n  ota-build build --new v2.img -o full --codec xz --level 9')
    .action(async (o) => {
      await run(async () => {
        const reporter = await CliReporter.create({ forceProgress: o.progress, strict: o.strict });
        const { buildPackages } = await import('../../pipeline/build-packages.js');
        const { builtinTargets, resolveTargets } = await import('../../targets/target-registry.js');
        const result = await buildPackages({
          oldPath: o.old, newPath: o.new, outDir: o.out, targets: o.target, codec: o.codec, level: o.level, differ: o.differ,
          ...splitKeys(o.key, resolveTargets(o.target), [...resolveTargets(o.target), ...builtinTargets()]), platform: o.platform, sourceVersion: o.sourceVersion, targetVersion: o.targetVersion,
          partitionName: o.partitionName, timestampSeconds: timestampFrom(o.timestamp, process.env), jobs: o.jobs, reporter,
        }).finally(() => reporter.stop());
        const rows = result.packages.map((p) => [p.target, p.path, formatBytes(p.sizeBytes), formatPercent(p.sizeBytes, result.target.sizeBytes), p.signatureAlgorithm]);
        const text = `${result.kind} packages for ${formatBytes(result.target.sizeBytes)} ${result.target.format} image ${result.target.path}\n` +
          renderTable(['target', 'package', 'size', '% of new', 'signature'], rows);
        return { json: { ...result, warnings: reporter.warnings }, text };
      });
    });
}
