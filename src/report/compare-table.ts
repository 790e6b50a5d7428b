// renderCompareTable: compare's result as a terminal table that fits a given width (columns are
// dropped in a fixed order, then the label is shortened), best values in bold green when colour
// is allowed, and reasons as numbered footnotes. Returns text; the CLI prints it.

import { bestValues, type CompareEntry, type CompareResult, type Measure } from '../compare/compare-result.js';
import { formatBytes, formatMs, formatPercent } from './format-units.js';

/** How to render. */
export interface TableOptions {
  /** Terminal width in characters (default 100). */
  readonly widthColumns?: number;
  /** Wrap best values in ANSI bold green. */
  readonly color?: boolean;
}

interface Column {
  readonly header: string;
  readonly cell: (e: CompareEntry, note: string) => string;
  readonly best?: Measure;
  /** Higher is hidden first when the table is too wide; undefined = never hidden. */
  readonly dropRank?: number;
}

const ms = (v: number | null) => (v === null ? '-' : formatMs(v));
const COLUMNS: readonly Column[] = [
  { header: 'combination', cell: (e) => e.combination },
  { header: 'allowed', cell: (e, note) => (!e.applicable ? `n/a${note}` : e.allowed ? 'yes' : `NO${note}`) },
  { header: 'size', cell: (e) => (e.packageBytes === null ? '-' : formatBytes(e.packageBytes)), best: 'packageBytes' },
  { header: '% of new', cell: (e) => formatPercent(e.percentOfNew), dropRank: 5 },
  { header: '% best full', cell: (e) => formatPercent(e.percentOfBestFull), dropRank: 2 },
  { header: 'build', cell: (e) => ms(e.buildMs), best: 'buildMs', dropRank: 1 },
  { header: 'apply', cell: (e) => ms(e.applyMs), best: 'applyMs', dropRank: 4 },
  {
    header: 'decoder mem',
    cell: (e) => (e.decoderMemoryBytes === null ? '-' : formatBytes(e.decoderMemoryBytes)),
    best: 'decoderMemoryBytes',
    dropRank: 3,
  },
];
const GAP = '  ';
const BOLD_GREEN = '\x1b[1;32m';
const RESET = '\x1b[0m';

/** The table, its footnotes and a summary line, wrapped to the width. */
export function renderCompareTable(r: CompareResult, o: TableOptions = {}): string {
  const width = Math.max(40, o.widthColumns ?? 100);
  const reasons = [...new Set(r.entries.map((e) => e.reason).filter((x): x is string => x !== null))];
  const note = (e: CompareEntry) => (e.reason === null ? '' : ` [${reasons.indexOf(e.reason) + 1}]`);
  let columns = [...COLUMNS];
  const cellsOf = (cols: readonly Column[]) => r.entries.map((e) => cols.map((c) => c.cell(e, note(e))));
  const widthsOf = (cols: readonly Column[], rows: string[][]) =>
    cols.map((c, i) => Math.max(c.header.length, ...rows.map((row) => row[i]!.length)));
  const total = (ws: number[]) => ws.reduce((a, b) => a + b, 0) + GAP.length * (ws.length - 1);
  const hidden: string[] = [];
  let rows = cellsOf(columns);
  let widths = widthsOf(columns, rows);
  while (total(widths) > width) {
    const victim = columns.filter((c) => c.dropRank !== undefined).sort((a, b) => b.dropRank! - a.dropRank!)[0];
    if (!victim) break;
    hidden.push(victim.header);
    columns = columns.filter((c) => c !== victim);
    rows = cellsOf(columns);
    widths = widthsOf(columns, rows);
  }
  const over = total(widths) - width;
  if (over > 0) {
    widths[0] = Math.max(8, widths[0]! - over);
    rows = rows.map((row) => [shorten(row[0]!, widths[0]!), ...row.slice(1)]);
  }
  const best = bestValues(r.entries);
  const pad = (text: string, i: number) => (i === 0 || i === 1 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!));
  const lines = [
    columns
      .map((c, i) => pad(c.header, i))
      .join(GAP)
      .trimEnd(),
    widths.map((w) => '-'.repeat(w)).join(GAP),
  ];
  r.entries.forEach((e, ri) => {
    const cells = columns.map((c, i) => {
      const text = pad(rows[ri]![i]!, i);
      const isBest = o.color && c.best && e[c.best] !== null && e[c.best] === best[c.best];
      return isBest ? `${BOLD_GREEN}${text}${RESET}` : text;
    });
    lines.push(cells.join(GAP).trimEnd());
  });
  lines.push('');
  reasons.forEach((reason, i) => lines.push(...wrap(`[${i + 1}] ${reason}`, width, '    ')));
  const bestFull = r.bestFull
    ? `best full package ${formatBytes(r.bestFull.packageBytes)} (${r.bestFull.combination})`
    : 'no full package';
  lines.push(
    ...wrap(
      `${r.kind} packages for ${r.target}; ${bestFull}; hashing and planning ${formatMs(r.prepareMs)} once; total ${formatMs(r.totalMs)}.`,
      width,
      '',
    ),
  );
  if (hidden.length > 0)
    lines.push(...wrap(`(${width} columns: hid ${hidden.join(', ')}; --json or --csv has everything)`, width, ''));
  return lines.join('\n');
}

/** Cuts `text` to `width` characters, ending in `…` when cut. */
export function shorten(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** Greedy word wrap; continuation lines start with `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (candidate.length > width && line !== '' && line.trim() !== '') {
      out.push(line);
      line = `${indent}${word}`;
    } else {
      line = candidate;
    }
  }
  if (line !== '') out.push(line);
  return out;
}
