// renderCompareCsv: compare's entries as RFC 4180 CSV (one header row, one row per combination,
// the same fields and units as `compare --json`; lists joined by spaces, null as an empty cell).

import { entryForOutput, type CompareEntry } from '../compare/compare-result.js';

/** CSV columns, in order (the CompareEntry field names). */
export const CSV_FIELDS = [
  'combination',
  'kind',
  'codec',
  'level',
  'differ',
  'candidates',
  'applicable',
  'packageBytes',
  'percentOfNew',
  'percentOfBestFull',
  'bestFullBytes',
  'buildMs',
  'applyMs',
  'decoderMemoryBytes',
  'allowed',
  'reason',
] as const satisfies readonly (keyof CompareEntry)[];

/** Quotes a cell when it holds a comma, quote, CR or LF. */
export function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : Array.isArray(value) ? value.join(' ') : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV text, CRLF line ends as RFC 4180 says. */
export function renderCompareCsv(entries: readonly CompareEntry[]): string {
  const rows = entries.map(entryForOutput);
  const lines = [CSV_FIELDS.join(','), ...rows.map((e) => CSV_FIELDS.map((f) => csvCell(e[f])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
