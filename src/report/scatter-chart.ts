// scatterChart: an inline SVG scatter plot, one marked point per item with a tooltip, labelled
// axes, a colour legend, optionally the Pareto front (a line through the front, drawn as
// diamonds). Items a target does not allow are drawn hollow. Pure string building.

import { paretoFront } from '../compare/pareto-front.js';
import {
  autoScale,
  axes,
  byteUnit,
  colorOf,
  escapeXml,
  legend,
  linearScale,
  num,
  plotRanges,
  svgOpen,
  type Frame,
  type LegendItem,
} from './svg-chart.js';

/** One point. */
export interface ScatterPoint {
  readonly label: string;
  readonly x: number;
  readonly y: number;
  /** Colour group (codec family, differ, auto). */
  readonly group: string;
  readonly allowed: boolean;
  readonly tooltip: string;
}

/** How to draw the chart. */
export interface ScatterOptions {
  /** `data-chart` value, e.g. `scatter-size-build`. */
  readonly chart: string;
  /** Accessible name and title. */
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly xTick: (v: number) => string;
  readonly yTick: (v: number) => string;
  /** `auto`: a log x axis when values span more than 30×. */
  readonly xScale?: 'linear' | 'auto';
  /** Axes that hold bytes get ticks at round binary units. */
  readonly xBytes?: boolean;
  readonly yBytes?: boolean;
  readonly pareto?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const DIAMOND = (x: number, y: number, r: number) =>
  `M${num(x)} ${num(y - r)}L${num(x + r)} ${num(y)}L${num(x)} ${num(y + r)}L${num(x - r)} ${num(y)}Z`;

/** Renders the scatter plot as an `<svg>` string. */
export function scatterChart(points: readonly ScatterPoint[], o: ScatterOptions): string {
  const groups = [...new Set(points.map((p) => p.group))];
  const f: Frame = {
    width: o.width ?? 860,
    height: o.height ?? 420,
    left: 84,
    right: 24,
    top: 22 + 16 * Math.ceil(groups.length / 7),
    bottom: 52,
  };
  const r = plotRanges(f);
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x =
    o.xScale === 'linear'
      ? linearScale(xs, r.x, { zero: true, unit: o.xBytes ? byteUnit(xs) : 1 })
      : autoScale(xs, r.x);
  const y = linearScale(ys, r.y, { zero: true, unit: o.yBytes ? byteUnit(ys) : 1 });
  // The front is drawn among the points the target allows (all points when it allows none).
  const eligible = points.some((p) => p.allowed) ? points.filter((p) => p.allowed) : points;
  const front = new Set(o.pareto ? paretoFront(eligible) : []);
  const parts = [
    svgOpen(f, o.chart, o.title),
    axes(f, x, y, {
      x: o.xTitle + (x.kind === 'log' ? ' (log scale)' : ''),
      y: o.yTitle,
      xTick: o.xTick,
      yTick: o.yTick,
    }),
  ];
  if (front.size > 1) {
    const line = [...front].map((p) => `${num(x(p.x))},${num(y(p.y))}`).join(' ');
    parts.push(
      `<polyline class="pareto-line" data-pareto-line="true" points="${line}"><title>Pareto front: nothing is better on both axes</title></polyline>`,
    );
  }
  let labelled = 0;
  for (const p of points) {
    const onFront = front.has(p);
    const px = x(p.x);
    const py = y(p.y);
    const color = colorOf(p.group);
    const fill = p.allowed ? color : '#ffffff';
    const shape = onFront
      ? `<path d="${DIAMOND(px, py, 7)}" fill="${fill}" stroke="#000" stroke-width="1.5"/>`
      : `<circle cx="${num(px)}" cy="${num(py)}" r="5" fill="${fill}" stroke="${color}" stroke-width="1.5"${p.allowed ? '' : ' stroke-dasharray="2 2"'}/>`;
    // Front labels alternate above and below their point so neighbours do not overprint.
    const text = onFront
      ? `<text class="point-label" x="${num(px + 9)}" y="${num(labelled++ % 2 === 0 ? py - 8 : py + 16)}">${escapeXml(p.label)}</text>`
      : '';
    parts.push(
      `<g class="point" data-point="${escapeXml(p.label)}" data-pareto="${onFront}" data-allowed="${p.allowed}" data-x="${p.x}" data-y="${p.y}" tabindex="0" aria-label="${escapeXml(p.tooltip)}"><title>${escapeXml(p.tooltip)}</title>${shape}${text}</g>`,
    );
  }
  const items: LegendItem[] = groups.map((g) => ({ label: g, color: colorOf(g) }));
  if (o.pareto)
    items.push({
      label: 'Pareto front',
      color: '#000',
      marker: (mx, my) => `<path d="${DIAMOND(mx, my, 5)}" fill="#fff" stroke="#000" stroke-width="1.5"/>`,
    });
  if (points.some((p) => !p.allowed))
    items.push({
      label: 'not allowed for the target',
      color: '#000',
      marker: (mx, my) =>
        `<circle cx="${num(mx)}" cy="${num(my)}" r="4" fill="#fff" stroke="#555" stroke-dasharray="2 2"/>`,
    });
  parts.push(legend(items, f.left, 16, f.width - f.right).svg, '</svg>');
  return parts.join('');
}
