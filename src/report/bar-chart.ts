// barChart: an inline SVG chart of horizontal bars, one per item, grouped and coloured by a
// group key (codec family), with value ticks, category labels, axis titles and a legend.
// Items a target does not allow are drawn faded with a dashed outline. Pure string building.

import {
  axisTitles,
  byteUnit,
  colorOf,
  escapeXml,
  legend,
  linearScale,
  num,
  plotRanges,
  svgOpen,
  type Frame,
} from './svg-chart.js';

/** One bar. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly group: string;
  readonly allowed: boolean;
  readonly tooltip: string;
  /** Drawn with a heavy outline (the smallest value). */
  readonly best?: boolean;
}

/** How to draw the chart. */
export interface BarOptions {
  readonly chart: string;
  readonly title: string;
  /** Title of the value (x) axis and of the category (y) axis. */
  readonly valueTitle: string;
  readonly categoryTitle: string;
  readonly tick: (v: number) => string;
  /** Values are bytes: ticks at round binary units. */
  readonly bytes?: boolean;
  readonly width?: number;
}

const ROW_PX = 22;

/** Renders the bars top to bottom in the given order. */
export function barChart(bars: readonly Bar[], o: BarOptions): string {
  const groups = [...new Set(bars.map((b) => b.group))];
  const labelPx = Math.min(220, 24 + 7 * Math.max(4, ...bars.map((b) => b.label.length)));
  const top = 22 + 16 * Math.ceil(groups.length / 7);
  const f: Frame = {
    width: o.width ?? 860,
    height: top + bars.length * ROW_PX + 60,
    left: labelPx + 30,
    right: 90,
    top,
    bottom: 60,
  };
  const r = plotRanges(f);
  const values = bars.map((b) => b.value);
  const x = linearScale(values, r.x, { zero: true, unit: o.bytes ? byteUnit(values) : 1 });
  const parts = [svgOpen(f, o.chart, o.title), '<g class="grid" aria-hidden="true">'];
  for (const t of x.ticks())
    parts.push(`<line x1="${num(x(t))}" x2="${num(x(t))}" y1="${num(r.y[0])}" y2="${num(r.y[1])}"/>`);
  parts.push(
    '</g><g class="axis">',
    `<line x1="${num(r.x[0])}" x2="${num(r.x[1])}" y1="${num(r.y[0])}" y2="${num(r.y[0])}"/>`,
  );
  for (const t of x.ticks())
    parts.push(
      `<text class="tick" x="${num(x(t))}" y="${num(r.y[0] + 16)}" text-anchor="middle">${escapeXml(o.tick(t))}</text>`,
    );
  parts.push(axisTitles(f, o.valueTitle, o.categoryTitle), '</g>');
  bars.forEach((b, i) => {
    const yTop = f.top + i * ROW_PX + 3;
    const w = Math.max(1, x(b.value) - x(0));
    const color = colorOf(b.group);
    const style = b.allowed
      ? `fill="${color}"`
      : `fill="${color}" fill-opacity="0.25" stroke="${color}" stroke-dasharray="3 2"`;
    const outline = b.best ? ' stroke="#000" stroke-width="2"' : '';
    parts.push(
      `<g class="bar" data-bar="${escapeXml(b.label)}" data-value="${b.value}" data-allowed="${b.allowed}" tabindex="0" aria-label="${escapeXml(b.tooltip)}"><title>${escapeXml(b.tooltip)}</title>` +
        `<text class="tick" x="${num(r.x[0] - 6)}" y="${num(yTop + 12)}" text-anchor="end">${escapeXml(b.label)}</text>` +
        `<rect x="${num(x(0))}" y="${num(yTop)}" width="${num(w)}" height="${ROW_PX - 6}" ${style}${outline}/>` +
        `<text class="value" x="${num(x(0) + w + 4)}" y="${num(yTop + 12)}">${escapeXml(o.tick(b.value))}</text></g>`,
    );
  });
  const items = groups.map((g) => ({ label: g, color: colorOf(g) }));
  parts.push(legend(items, f.left, 16, f.width - f.right).svg, '</svg>');
  return parts.join('');
}
