// renderInspectHtml: `inspect --html` — a package's summary table and, per partition, the block
// map of what it does to each target block, as one self-contained HTML page.

import { basename } from 'node:path';
import type { InspectReport } from '../inspect/inspect-package.js';
import type { PartitionBlockMap } from '../inspect/package-block-map.js';
import { blockMapSvg } from './block-map-svg.js';
import { formatBytes, formatCount } from './format-units.js';
import { figure, htmlPage, htmlTable } from './html-page.js';
import { escapeXml } from './svg-chart.js';

/** The page for one inspected package. */
export function renderInspectHtml(r: InspectReport, maps: readonly PartitionBlockMap[]): string {
  const t = r.target as Record<string, string | number>;
  const title = `ota-build inspect: ${basename(r.path)}`;
  const summary: [string, string][] = [
    ['package', `${r.path} (format ${r.formatVersion}, ${formatBytes(r.fileSizeBytes)})`],
    [
      'target',
      `${t.targetId} (${t.vendor} ${t.platform}, ${t.storage}, ${t.blockSizeBytes}-byte blocks, ${t.updateMode})`,
    ],
    [
      'signature',
      `${r.signature.algorithm}, key ${r.signature.keyId.slice(0, 16)}…${r.metadataVerified ? '' : ' (NOT verified)'}`,
    ],
    ['versions', `${r.sourceVersion || '-'} → ${r.targetVersion || '-'}, timestamp ${r.timestampSeconds}`],
    [
      'decoder memory',
      `up to ${formatBytes(r.maxDecoderMemoryBytes ?? 0)} (limit ${formatBytes(Number(t.decoderMemoryLimitBytes))})`,
    ],
  ];
  const parts = [
    `<h1>${escapeXml(title)}</h1>`,
    `<dl>${summary.map(([k, v]) => `<dt>${escapeXml(k)}</dt><dd>${escapeXml(v)}</dd>`).join('')}</dl>`,
  ];
  for (const p of r.partitions) {
    parts.push(`<h2>Partition ${escapeXml(p.name)} (${p.kind}): ${formatCount(p.operationCount, 'operation')}</h2>`);
    if (p.source)
      parts.push(
        `<p class="note">source ${escapeXml(formatBytes(p.source.sizeBytes))}, sha256 ${escapeXml(p.source.sha256)}</p>`,
      );
    parts.push(
      `<p class="note">target ${escapeXml(formatBytes(p.target.sizeBytes))}, sha256 ${escapeXml(p.target.sha256)}</p>`,
    );
    const rows = [...Object.entries(p.byType), ...Object.entries(p.byEncoding)].map(([k, s]) => ({
      cells: [k, String(s.count), formatBytes(s.dstBytes), formatBytes(s.blobBytes)],
    }));
    parts.push(htmlTable(['kind', 'ops', 'writes', 'blob bytes'], rows));
    const map = maps.find((m) => m.name === p.name)?.map;
    if (map) {
      const heading = r.partitions.length > 1 ? `Block map of ${p.name}` : 'Block map';
      parts.push(
        `<h3>${escapeXml(heading)}</h3>`,
        figure(
          blockMapSvg(map, {
            title: `What the package does to each block of the target image (${map.blockCount} blocks)`,
          }),
          'Each cell is coloured by the kind covering most of its blocks; hover a run for its block range and the exact counts.',
        ),
      );
    }
  }
  return htmlPage(title, parts.join('\n'));
}
