// Small rendering helpers for human output: byte sizes, percentages, aligned tables.

import { printable } from '../errors/printable.js';

/** `1.5 MiB`-style size (the same formatting as compare's reports). */
export { formatBytes, formatCount } from '../report/format-units.js';

/** `12.34 %` of a whole. */
export function formatPercent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(2)} %` : '-';
}

/** Renders rows as an aligned text table; numeric-looking cells are right-aligned. */
export function renderTable(header: readonly string[], plainRows: readonly (readonly string[])[]): string {
  // Cells may quote a file name or a custom profile: control characters are escaped before the
  // widths are measured, so a hostile cell neither reaches the terminal raw nor breaks the layout.
  const rows = plainRows.map((r) => r.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = (s: string) => /^[\d.,]+( ?[%A-Za-z]+)?$/.test(s) && /\d/.test(s);
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
