// `ota-build inspect`: describes a package (target, identities, ops by type and codec, signature);
// `--html` also writes the block map of what it does to each target block.

import { Command } from 'commander';
import { CliReporter } from '../cli-reporter.js';
import { checkReportDestinations } from '../check-report-destinations.js';
import { refuseOutputOverInput } from '../../image/refuse-output-over-input.js';
import { transportFrom, withTransportOptions } from '../transport-options.js';
import type { CommandResult } from '../command-result.js';
import { collect } from '../parse-options.js';
import { UsageError } from '../../errors/ota-error.js';
import { printable, printableLines } from '../../errors/printable.js';
import { formatBytes, formatCount, renderTable } from '../render.js';
import type { ImageSummary, InspectReport } from '../../inspect/inspect-package.js';

/** Declares the command. */
export function inspectCommand(run: (work: () => Promise<CommandResult>) => Promise<void>): Command {
  return withTransportOptions(new Command('inspect'))
    .summary('describe a package')
    .description(
      'Describes a package from its metadata: header, target and manifest, whose signature is checked when a key is known (--pubkey, or a public test key). The blobs are not read and the payload signature is not checked: a package damaged past its metadata inspects clean. `ota-build verify` checks the whole package.',
    )
    .argument('<package>', 'package file (.otapkg) or http(s) URL (fetches only the metadata and signatures)')
    .option(
      '--pubkey <pem>',
      'check the metadata signature with this key (PEM: a public key, a certificate or the private key; repeatable: any of them)',
      collect,
    )
    .option(
      '--strict',
      'treat warnings as errors: a package whose signature was not checked (UNVERIFIED) or that is signed with a test key fails',
    )
    .option('--json', 'print the description as JSON on stdout (section offsets included)')
    .addHelpText(
      'after',
      '\nExamples:\n  ota-build inspect out/update-mediatek.otapkg\n  ota-build inspect out/update-mediatek.otapkg --pubkey release.pub.pem --json\n  ota-build inspect https://cdn.example/update-mediatek.otapkg --pubkey release.pub.pem   # fetches the metadata and signatures only',
    )
    .option(
      '--html <file>',
      'also write a self-contained HTML page with the summary and the block map (for a URL, from the metadata alone)',
    )
    .action(async (pkg: string, o) => {
      await run(async () => {
        await refuseOutputOverInput(
          [{ option: '--html', path: o.html }],
          [
            { option: 'package', path: pkg },
            ...((o.pubkey ?? []) as string[]).map((path) => ({ option: '--pubkey', path })),
          ],
        );
        await checkReportDestinations([{ option: '--html', path: o.html }]);
        const reporter = await CliReporter.create({ strict: o.strict });
        const { inspectPackage } = await import('../../inspect/inspect-package.js');
        const t = transportFrom(pkg, o);
        let r: InspectReport;
        try {
          r = await inspectPackage({ packagePath: pkg, pubkeyPath: o.pubkey, reporter, http: t.http });
          // The page is the block map of every operation: an undecoded manifest has none to draw.
          if (o.html && r.manifestNotDecoded)
            throw new UsageError(
              'BAD_OPTION',
              `--html draws every operation, and an unverified package of more than 1000 operations (this one has ${r.manifestNotDecoded.operationCount}) is not decoded: pass --pubkey; nothing was written`,
            );
          if (o.html) {
            const { packageBlockMaps } = await import('../../inspect/package-block-map.js');
            const { renderInspectHtml } = await import('../../report/inspect-html.js');
            const { writeReportFile } = await import('../../report/write-report-file.js');
            const maps = await packageBlockMaps({
              packagePath: pkg,
              pubkeyPath: o.pubkey,
              verifyMetadata: r.metadataVerified,
              reporter,
              http: t.http,
            });
            await writeReportFile(o.html, renderInspectHtml(r, maps));
          }
        } finally {
          t.done();
        }
        // Every line may quote the (possibly unverified) package: control characters are escaped.
        return {
          json: { ...r, warnings: reporter.warnings },
          text: printableLines(describe(r)) + (o.html ? `\n\nwrote ${printable(o.html)}` : ''),
        };
      });
    });
}

function image(i: ImageSummary): string {
  const claim =
    i.claim === 'sparse'
      ? `sparse image with ${i.dontCareBlocks} DONT_CARE blocks`
      : 'full content (raw, or sparse without DONT_CARE)';
  return `${formatBytes(i.sizeBytes)}${i.version ? ` version ${printable(String(i.version))}` : ''}, ${claim}, sha256 ${i.sha256}`;
}

/**
 * The target line. Strings from the package are escaped one by one (printable): a newline in a
 * label must not pass for a line of this description (the whole text is escaped line by line).
 */
function targetLine(t: Record<string, string | number>, release: string): string {
  return `target     ${printable(`${t.targetId} (${t.vendor} ${t.platform}, ${t.storage}`)}, ${t.blockSizeBytes}-byte blocks, ${t.updateMode})${release}`;
}

function describe(r: InspectReport): string {
  const t = r.target as Record<string, string | number>;
  const n = r.manifestNotDecoded;
  if (n)
    return [
      `${printable(r.path)}: ota-build package ${r.formatVersion}, ${formatBytes(r.fileSizeBytes)}`,
      targetLine(t, ''),
      `signature  ${r.signature.algorithm}, key ${r.signature.keyId.slice(0, 16)}… (NOT verified)`,
      `manifest   ${formatBytes(r.sections.manifest!.sizeBytes)}: ${formatCount(n.partitionCount, 'partition')}, ${formatCount(n.operationCount, 'operation')}, ${formatCount(n.extentCount, 'extent')}`,
      `           not decoded: an unverified package with more than 1000 operations; pass --pubkey to list them`,
    ].join('\n');
  const lines = [
    `${printable(r.path)}: ota-build package ${r.formatVersion}, ${formatBytes(r.fileSizeBytes)}`,
    targetLine(
      t,
      t.releaseLayout
        ? `, ${printable(String(t.releaseLayout))} release of ${formatCount(r.partitions.length, 'partition')}`
        : '',
    ),
    `signature  ${r.signature.algorithm}, key ${(r.signature.keyIds ?? [r.signature.keyId]).map((k) => `${k.slice(0, 16)}…`).join(', ')}${r.metadataVerified ? '' : ' (NOT verified)'}`,
    `versions   ${printable(String(r.sourceVersion || '-'))} → ${printable(String(r.targetVersion || '-'))}, timestamp ${r.timestampSeconds}`,
    `decoder    needs up to ${formatBytes(r.maxDecoderMemoryBytes ?? 0)} (limit ${formatBytes(Number(t.decoderMemoryLimitBytes))})`,
    'body       not checked: blobs and payload signature (ota-build verify checks them)',
  ];
  for (const p of r.partitions) {
    lines.push('', `partition ${p.name} (${p.kind}): ${formatCount(p.operationCount, 'operation')}`);
    for (const l of p.layout ?? [])
      lines.push(
        `  layout ${Object.entries(l)
          .filter(([k, v]) => !(k === 'fileName' && v === '')) // a slot flashed from no file
          .map(([k, v]) => `${k}=${printable(String(v))}`)
          .join(' ')}`,
      );
    if (p.source) lines.push(`  source ${image(p.source)}`);
    lines.push(`  target ${image(p.target)}`);
    if (p.inPlace)
      lines.push(
        `  in-place: stash peak ${formatBytes(p.inPlace.peakStashBytes)} (limit ${formatBytes(Number(t.maxStashBytes ?? 0))}) in ${p.inPlace.stashOps} stashes, ${p.inPlace.convertedReplaceOps} ops turned into REPLACE`,
      );
    if (p.targetReads)
      lines.push(
        `  reads back: ${p.targetReads.ops} diff ops read ${formatBytes(p.targetReads.bytes)} that earlier ops wrote (format 1.6)`,
      );
    const rows = [...Object.entries(p.byType), ...Object.entries(p.byEncoding)].map(([k, s]) => [
      k,
      String(s.count),
      formatBytes(s.dstBytes),
      formatBytes(s.blobBytes),
    ]);
    if (rows.length > 0)
      lines.push(
        renderTable(
          ['  kind', 'ops', 'writes', 'blob bytes'],
          rows.map(([k, ...rest]) => [`  ${k}`, ...rest]),
        ),
      );
    else if (p.kind === 'unchanged') lines.push('  unchanged: the device keeps its old image (no operations)');
  }
  return lines.join('\n');
}
