// htmlPage: the self-contained page shell of the HTML reports — inline CSS, no scripts, and a
// Content-Security-Policy that forbids every network request, so the file views offline.

import { escapeXml } from './svg-chart.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px auto;max-width:920px;padding:0 16px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px}
p.lead{color:#555;margin:0 0 12px}
figure{margin:8px 0 18px}figcaption{color:#555;font-size:13px;margin-top:4px}
svg{max-width:100%;height:auto;font:12px system-ui,sans-serif;background:#fff}
svg .grid line{stroke:#eee}svg .axis line{stroke:#444}svg .tick{fill:#444;font-size:11px}
svg .axis-title{fill:#222;font-size:12px;font-weight:600}svg .legend text{fill:#333;font-size:11px}
svg .pareto-line{fill:none;stroke:#000;stroke-width:1.5;stroke-dasharray:5 3}
svg .point-label{font-size:11px;fill:#000}svg .value{font-size:11px;fill:#333}
svg .point:focus,svg .bar:focus{outline:2px solid #1f77b4}
table{border-collapse:collapse;font-size:13px;margin:6px 0 12px}
th,td{padding:3px 8px;border-bottom:1px solid #e4e4e4;text-align:right}th{background:#f6f6f6}
td,th{white-space:nowrap}td.text,th.text{text-align:left}td.wrap{white-space:normal;min-width:12em}.table-wrap{overflow-x:auto}td.best{font-weight:700;color:#137333}tr.forbidden td{color:#9a3412}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}dt{color:#555}dd{margin:0}
.note{color:#555;font-size:13px}
`;

/** A complete HTML document with `title` and an already escaped/rendered `body`. */
export function htmlPage(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** A `<figure>` around a chart with a caption. */
export function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${escapeXml(caption)}</figcaption></figure>`;
}

/** An HTML table; cells are plain text (escaped here), `classes` adds per-cell classes. */
export function htmlTable(
  header: readonly string[],
  rows: readonly { cells: readonly string[]; classes?: readonly string[]; rowClass?: string }[],
  textColumns: readonly number[] = [0],
): string {
  const cls = (i: number, extra?: string) => {
    const names = [textColumns.includes(i) ? 'text' : '', extra ?? ''].filter(Boolean).join(' ');
    return names ? ` class="${names}"` : '';
  };
  const head = `<tr>${header.map((h, i) => `<th${cls(i)} scope="col">${escapeXml(h)}</th>`).join('')}</tr>`;
  const body = rows
    .map(
      (r) =>
        `<tr${r.rowClass ? ` class="${r.rowClass}"` : ''}>${r.cells.map((c, i) => `<td${cls(i, r.classes?.[i])}>${escapeXml(c)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}
