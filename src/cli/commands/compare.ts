// `ota-build compare`: builds one real package per codec/differ combination for one target and
// shows size, build time, apply time and decoder memory side by side (table, JSON, CSV, HTML).

import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { CliReporter } from '../cli-reporter.js';
import { printable } from '../../errors/printable.js';
import { checkReportDestinations } from '../check-report-destinations.js';
import { refuseOutputOverInput } from '../../image/refuse-output-over-input.js';
import type { CommandResult } from '../command-result.js';
import { MAX_TIMESTAMP_SECONDS, parseIntOption, timestampFrom } from '../parse-options.js';

/** Declares the command. */
export function compareCommand(run: (work: () => Promise<CommandResult>) => Promise<void>): Command {
  return new Command('compare')
    .summary('compare codecs and differs on your own images')
    .description(
      'Builds a real signed package for each combination (replace-only per codec and level, each differ with the best replace codec as fallback, and auto) from ONE hashed and planned copy of the images, applies each once to a temp folder, deletes them, and reports size, build time, apply time and decoder memory. A combination the target forbids is still measured (with an unrestricted copy of the profile) and marked "not allowed".',
    )
    .requiredOption('--new <img>', 'new image (raw or sparse; of a release, one partition image)')
    .option(
      '--old <img>',
      'old image (omit to compare full packages: then only deflate-aware, needing no source, diffs)',
    )
    .option(
      '--target <id>',
      'one target: qualcomm|qcom|snapdragon, mediatek|mtk, unisoc|spreadtrum|sprd, generic, or a profile .json path',
      'generic',
    )
    .option('--codecs <list>', 'comma list of codecs (default: none,gzip,brotli,zstd,xz)')
    .option(
      '--levels <spec>',
      'levels per codec, e.g. "zstd=3,9,19;xz=1,6,9" (default: gzip 6,9; brotli 5,9,11; zstd 3,9,19; xz 1,6,9)',
    )
    .option(
      '--differs <list>',
      'comma list of differs, or all or none alone (default: all = bsdiff-lzma,zstd-dict,bsdiff,bsdf2,deflate-aware,exec-aware)',
    )
    .option(
      '-j, --jobs <n>',
      `encoder worker threads (default: ${availableParallelism()})`,
      parseIntOption('--jobs', 1, 256),
    )
    .option(
      '--timestamp <seconds>',
      'package timestamp (default: $SOURCE_DATE_EPOCH, else 0)',
      parseIntOption('--timestamp', 0, MAX_TIMESTAMP_SECONDS),
    )
    .option('--csv <file>', 'also write the results as CSV')
    .option('--html <file>', 'also write a self-contained HTML report with charts and the block map')
    .option('--progress', 'show progress even when stderr is not a terminal')
    .option('--json', 'print the results as a JSON array (one entry per combination) on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  ota-build compare --old v1.img --new v2.img\n  ota-build compare --old v1.img --new v2.img --target unisoc --html report.html\n  ota-build compare --new v2.img --codecs zstd,xz --levels "zstd=3,19;xz=6" --csv full.csv',
    )
    .action(async (o) => {
      await run(async () => {
        await refuseOutputOverInput(
          [
            { option: '--csv', path: o.csv },
            { option: '--html', path: o.html },
          ],
          [
            { option: '--old', path: o.old },
            { option: '--new', path: o.new },
            // A target given as a profile file (an id names no file).
            { option: '--target', path: /\.json$/i.test(o.target ?? '') ? o.target : undefined },
          ],
        );
        const { writeReportFiles } = await import('../../report/write-report-file.js');
        // Checked before the combinations are built (minutes on real images), not at the end.
        await checkReportDestinations([
          { option: '--csv', path: o.csv },
          { option: '--html', path: o.html },
        ]);
        const reporter = await CliReporter.create({ forceProgress: o.progress });
        const { compareCodecs } = await import('../../compare/compare-codecs.js');
        const { entryForOutput } = await import('../../compare/compare-result.js');
        const { renderCompareTable } = await import('../../report/compare-table.js');
        const result = await compareCodecs({
          oldPath: o.old,
          newPath: o.new,
          target: o.target,
          codecs: o.codecs,
          levels: o.levels,
          differs: o.differs,
          jobs: o.jobs,
          timestampSeconds: timestampFrom(o.timestamp, process.env),
          reporter,
        }).finally(() => reporter.stop());
        const reports: { path: string; text: string }[] = [];
        if (o.csv) {
          const { renderCompareCsv } = await import('../../report/compare-csv.js');
          reports.push({ path: o.csv, text: renderCompareCsv(result.entries) });
        }
        if (o.html) {
          const { renderCompareHtml } = await import('../../report/compare-html.js');
          reports.push({ path: o.html, text: renderCompareHtml(result) });
        }
        // Both reports or neither.
        await writeReportFiles(reports);
        const written = reports.map((r) => r.path);
        const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
        const table = renderCompareTable(result, { widthColumns: process.stdout.columns || 100, color });
        return {
          json: result.entries.map(entryForOutput),
          text: table + written.map((f) => `\nwrote ${printable(f)}`).join(''),
        };
      });
    });
}
