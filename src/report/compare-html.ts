// renderCompareHtml: compare's one-file HTML report — size vs build time (Pareto front marked),
// size per combination grouped by codec, decode time vs decoder memory, the block map of the
// auto package, and the full results table. Inline SVG only: no scripts, no network.

import { basename } from 'node:path';
import { barChart } from './bar-chart.js';
import { blockMapSvg } from './block-map-svg.js';
import { bestValues, type CompareEntry, type CompareResult } from '../compare/compare-result.js';
import { formatBytes, formatBytesShort, formatMs, formatPercent } from './format-units.js';
import { figure, htmlPage, htmlTable } from './html-page.js';
import { scatterChart, type ScatterPoint } from './scatter-chart.js';
import { escapeXml } from './svg-chart.js';

/** Colour group of an entry: its codec, its differ, or `auto`. */
export function familyOf(e: CompareEntry): string {
  return e.kind === 'replace' ? e.codec! : e.kind === 'diff' ? e.differ! : 'auto';
}

/** One-line description of an entry (tooltips). */
export function describeEntry(e: CompareEntry): string {
  if (!e.applicable || e.packageBytes === null) return `${e.combination}: ${e.reason ?? 'not run'}`;
  const parts = [
    `${e.combination}: ${formatBytes(e.packageBytes)} (${formatPercent(e.percentOfNew)} of new, ${formatPercent(e.percentOfBestFull)} of best full)`,
    `build ${formatMs(e.buildMs ?? 0)}`,
    `apply ${formatMs(e.applyMs ?? 0)}`,
    `decoder memory ${formatBytes(e.decoderMemoryBytes ?? 0)}`,
  ];
  return `${parts.join(', ')}; tries ${e.candidates.join(' ')}${e.allowed ? '' : ` — NOT ALLOWED: ${e.reason}`}`;
}

/** The whole report page. */
export function renderCompareHtml(r: CompareResult): string {
  const ran = r.entries.filter((e) => e.applicable && e.packageBytes !== null);
  const point = (x: number, y: number, e: CompareEntry): ScatterPoint => ({
    label: e.combination,
    x,
    y,
    group: familyOf(e),
    allowed: e.allowed,
    tooltip: describeEntry(e),
  });
  const best = bestValues(r.entries);
  const title = `ota-build compare: ${basename(r.newImage.path)}`;
  const images = r.oldImage
    ? `${imageLine('old', r.oldImage)}${imageLine('new', r.newImage)}`
    : imageLine('new', r.newImage);
  const body = [
    `<h1>${escapeXml(title)}</h1>`,
    `<p class="lead">${r.kind === 'delta' ? 'Delta' : 'Full'} packages for target <b>${escapeXml(r.target)}</b>: ${ran.length} combinations built, each a real signed package, applied once and deleted.</p>`,
    '<dl>',
    images,
    `<dt>best full package</dt><dd>${r.bestFull ? `${escapeXml(formatBytes(r.bestFull.packageBytes))} (${escapeXml(r.bestFull.combination)})` : '-'}</dd>`,
    `<dt>shared work</dt><dd>hashing and planning ${escapeXml(formatMs(r.prepareMs))} once; ${r.jobs} encoder thread${r.jobs === 1 ? '' : 's'}; whole compare ${escapeXml(formatMs(r.totalMs))}</dd>`,
    '</dl>',
    '<h2>Package size vs build time</h2>',
    figure(
      scatterChart(
        ran.map((e) => point(e.buildMs!, e.packageBytes!, e)),
        {
          chart: 'scatter-size-build',
          title: 'Package size vs build time, one point per combination',
          xTitle: 'build time',
          yTitle: 'package size',
          xTick: formatMs,
          yTick: formatBytesShort,
          xScale: 'auto',
          yBytes: true,
          pareto: true,
        },
      ),
      'Diamonds joined by the dashed line are the Pareto front: no other combination the target allows is both smaller and faster to build. Hollow points are not allowed for the target.',
    ),
    '<h2>Package size per combination, by codec</h2>',
    figure(
      barChart(
        ran.map((e) => ({
          label: e.combination,
          value: e.packageBytes!,
          group: familyOf(e),
          allowed: e.allowed,
          tooltip: describeEntry(e),
          best: e.packageBytes === best.packageBytes,
        })),
        {
          chart: 'bars-size',
          title: 'Package size per combination, grouped by codec',
          valueTitle: 'package size',
          categoryTitle: 'combination',
          tick: formatBytesShort,
          bytes: true,
        },
      ),
      'The outlined bar is the smallest package the target allows. Faded bars are not allowed for the target.',
    ),
    '<h2>Decode time vs decoder memory</h2>',
    figure(
      scatterChart(
        ran.map((e) => point(e.decoderMemoryBytes!, e.applyMs!, e)),
        {
          chart: 'scatter-decode-memory',
          title: 'Apply (decode) time vs declared decoder memory, one point per combination',
          xTitle: 'decoder memory (largest an op declares)',
          yTitle: 'apply time',
          xTick: formatBytesShort,
          yTick: formatMs,
          xScale: 'linear',
          xBytes: true,
          pareto: true,
        },
      ),
      'Apply time is the reference applier on this machine (checks, decode or patch, write, hash); decoder memory is what the manifest declares for the device.',
    ),
    '<h2>Block map</h2>',
    r.blockMap
      ? figure(
          blockMapSvg(r.blockMap, {
            title: `What the auto package does to each block of the new image (${r.blockMap.blockCount} blocks)`,
          }),
          'Each cell is coloured by the kind covering most of its blocks; hover a run for its block range and the exact counts.',
        )
      : '<p class="note">No block map: the auto combination was not run.</p>',
    '<h2>All results</h2>',
    `<div class="table-wrap">${resultsTable(r)}</div>`,
    `<p class="note">Build time is encode, write and self-check of one package (hashing and planning are shared and shown above; candidates computed for an earlier combination count what they cost the first time). ${escapeXml(bestFullNote(r))}</p>`,
  ].join('\n');
  return htmlPage(title, body);
}

function imageLine(which: string, i: CompareResult['newImage']): string {
  return `<dt>${which} image</dt><dd>${escapeXml(i.path)} (${escapeXml(i.format)}, ${escapeXml(formatBytes(i.sizeBytes))}, sha256 ${escapeXml(i.sha256.slice(0, 16))}…)</dd>`;
}

function bestFullNote(r: CompareResult): string {
  return r.kind === 'delta'
    ? '"% of best full" is relative to the full package build makes without --old (auto codecs, no differs), built from the same hashed image.'
    : '"% of best full" is relative to the smallest package above that the target allows.';
}

function resultsTable(r: CompareResult): string {
  const best = bestValues(r.entries);
  const rows = r.entries.map((e) => {
    const mark = (v: number | null, m: keyof typeof best) => (v !== null && v === best[m] ? 'best' : '');
    return {
      rowClass: e.allowed ? undefined : 'forbidden',
      cells: [
        e.combination,
        e.packageBytes === null ? '-' : formatBytes(e.packageBytes),
        formatPercent(e.percentOfNew),
        formatPercent(e.percentOfBestFull),
        e.buildMs === null ? '-' : formatMs(e.buildMs),
        e.applyMs === null ? '-' : formatMs(e.applyMs),
        e.decoderMemoryBytes === null ? '-' : formatBytes(e.decoderMemoryBytes),
        e.applicable ? (e.allowed ? 'yes' : 'no') : 'n/a',
        e.reason ?? '',
      ],
      classes: [
        '',
        mark(e.packageBytes, 'packageBytes'),
        '',
        '',
        mark(e.buildMs, 'buildMs'),
        mark(e.applyMs, 'applyMs'),
        mark(e.decoderMemoryBytes, 'decoderMemoryBytes'),
        '',
        'wrap',
      ],
    };
  });
  return htmlTable(
    ['combination', 'size', '% of new', '% of best full', 'build', 'apply', 'decoder memory', 'allowed', 'reason'],
    rows,
    [0, 7, 8],
  );
}
