// Small, testable building blocks for the inline SVG charts of the HTML reports: XML escaping,
// linear and log scales with readable ticks, a chart frame with labelled axes, and the palette.
// Pure string building; no DOM, no I/O.

/** Escapes text for XML/HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A number printed for SVG coordinates (2 decimals, no `-0`). */
export function num(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** A mapping from data values to pixels, with tick values for its axis. */
export interface Scale {
  (value: number): number;
  readonly kind: 'linear' | 'log';
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
  ticks(): number[];
}

/** "Nice" round tick values covering [min, max] (about `count` of them), as steps of 1, 2 or 5 × 10^k. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * A linear scale; the domain is widened to nice tick bounds (and to include 0 when `zero`).
 * With `unit` (e.g. 1024 ** 2 for a MiB axis) ticks are nice multiples of that unit.
 */
export function linearScale(
  values: readonly number[],
  range: readonly [number, number],
  options: { zero?: boolean; unit?: number } = {},
): Scale {
  const unit = options.unit ?? 1;
  const finite = values.filter(Number.isFinite).map((v) => v / unit);
  let lo = Math.min(...finite, ...(options.zero ? [0] : []));
  let hi = Math.max(...finite, ...(options.zero ? [0] : []));
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (hi === lo) [lo, hi] = lo === 0 ? [0, 1] : [Math.min(0, lo * 0.9), Math.max(0, hi * 1.1)];
  const ticks = niceTicks(lo, hi);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
  const d0 = Math.min(lo, Math.floor(lo / step) * step) * unit;
  const d1 = Math.max(hi, Math.ceil(hi / step) * step) * unit;
  const f = ((v: number) => range[0] + ((v - d0) / (d1 - d0)) * (range[1] - range[0])) as Scale;
  return Object.assign(f, {
    kind: 'linear' as const,
    domain: [d0, d1] as const,
    range,
    ticks: () => niceTicks(d0 / unit, d1 / unit).map((t) => t * unit),
  });
}

/** The binary unit (1, KiB, MiB, …) in which the largest of `values` is 1..1023, for byte axes. */
export function byteUnit(values: readonly number[]): number {
  const max = Math.max(0, ...values.filter(Number.isFinite));
  let unit = 1;
  while (max / unit >= 1024) unit *= 1024;
  return unit;
}

/**
 * A log10 scale over positive values (non-positive values are drawn at the domain's low end),
 * padded by 30 % on each side; ticks at 1, 2, 5 × 10^k inside it (decades only when that is many).
 */
export function logScale(values: readonly number[], range: readonly [number, number]): Scale {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  const lo = positive.length > 0 ? Math.min(...positive) : 1;
  const hi = positive.length > 0 ? Math.max(...positive) : 10;
  const d0 = lo / 1.3;
  const d1 = Math.max(hi * 1.3, d0 * 10);
  const l0 = Math.log10(d0);
  const l1 = Math.log10(d1);
  const f = ((v: number) =>
    range[0] + ((Math.log10(Math.max(v, d0)) - l0) / (l1 - l0)) * (range[1] - range[0])) as Scale;
  const ticks = () => {
    const inside = (t: number) => t >= d0 * (1 - 1e-9) && t <= d1 * (1 + 1e-9);
    const decades: number[] = [];
    for (let p = Math.floor(l0); p <= Math.ceil(l1); p++) decades.push(10 ** p);
    const fine = decades.flatMap((d) => [d, 2 * d, 5 * d]).filter(inside);
    const coarse = decades.filter(inside);
    return fine.length <= 8 || coarse.length < 2 ? fine : coarse;
  };
  return Object.assign(f, { kind: 'log' as const, domain: [d0, d1] as const, range, ticks });
}

/** A log scale when the positive values span more than `ratio`×, else a linear one from zero. */
export function autoScale(values: readonly number[], range: readonly [number, number], ratio = 30): Scale {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  const spread = positive.length > 1 ? Math.max(...positive) / Math.min(...positive) : 1;
  return spread > ratio && positive.length === values.length
    ? logScale(values, range)
    : linearScale(values, range, { zero: true });
}

/** Pixel geometry of a chart: the SVG size and the plot area inside the margins. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

/** The plot area's x and y pixel ranges (y grows downwards, so its range is [bottom, top]). */
export function plotRanges(f: Frame): { x: [number, number]; y: [number, number] } {
  return { x: [f.left, f.width - f.right], y: [f.height - f.bottom, f.top] };
}

/** The opening `<svg>` of a chart, with its role, accessible label and a `<title>`. */
export function svgOpen(f: Frame, chart: string, label: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="${escapeXml(label)}" data-chart="${escapeXml(chart)}"><title>${escapeXml(label)}</title>`;
}

/** Axis lines, grid, tick labels and the two axis titles (`data-axis="x"` / `"y"`). */
export function axes(
  f: Frame,
  x: Scale,
  y: Scale,
  labels: { x: string; y: string; xTick: (v: number) => string; yTick: (v: number) => string },
): string {
  const [x0, x1] = plotRanges(f).x;
  const [y0, y1] = plotRanges(f).y;
  const parts: string[] = [`<g class="grid" aria-hidden="true">`];
  for (const t of x.ticks()) parts.push(`<line x1="${num(x(t))}" x2="${num(x(t))}" y1="${num(y0)}" y2="${num(y1)}"/>`);
  for (const t of y.ticks()) parts.push(`<line x1="${num(x0)}" x2="${num(x1)}" y1="${num(y(t))}" y2="${num(y(t))}"/>`);
  parts.push('</g><g class="axis">');
  parts.push(
    `<line x1="${num(x0)}" x2="${num(x1)}" y1="${num(y0)}" y2="${num(y0)}"/><line x1="${num(x0)}" x2="${num(x0)}" y1="${num(y0)}" y2="${num(y1)}"/>`,
  );
  for (const t of x.ticks())
    parts.push(
      `<text class="tick" x="${num(x(t))}" y="${num(y0 + 16)}" text-anchor="middle">${escapeXml(labels.xTick(t))}</text>`,
    );
  for (const t of y.ticks())
    parts.push(
      `<text class="tick" x="${num(x0 - 6)}" y="${num(y(t) + 4)}" text-anchor="end">${escapeXml(labels.yTick(t))}</text>`,
    );
  parts.push(axisTitles(f, labels.x, labels.y), '</g>');
  return parts.join('');
}

/** Just the two axis titles, for charts that draw their own ticks. */
export function axisTitles(f: Frame, xTitle: string, yTitle: string): string {
  const [x0, x1] = plotRanges(f).x;
  const [y0, y1] = plotRanges(f).y;
  const cy = (y0 + y1) / 2;
  return (
    `<text class="axis-title" data-axis="x" x="${num((x0 + x1) / 2)}" y="${num(f.height - 8)}" text-anchor="middle">${escapeXml(xTitle)}</text>` +
    `<text class="axis-title" data-axis="y" x="14" y="${num(cy)}" text-anchor="middle" transform="rotate(-90 14 ${num(cy)})">${escapeXml(yTitle)}</text>`
  );
}

/** Colours per codec family (and for differ and auto combinations), readable on white. */
export const PALETTE: Readonly<Record<string, string>> = {
  none: '#7f7f7f',
  gzip: '#1f77b4',
  brotli: '#ff7f0e',
  zstd: '#2ca02c',
  xz: '#9467bd',
  'zstd-dict': '#17becf',
  bsdiff: '#d62728',
  bsdf2: '#e377c2',
  'bsdiff-lzma': '#8c564b',
  auto: '#111111',
};

/** The colour of a group, falling back to a neutral one. */
export function colorOf(group: string): string {
  return PALETTE[group] ?? '#8c564b';
}

/** One legend entry: a label and a colour, or a custom marker drawn at (x, y − 4). */
export interface LegendItem {
  readonly label: string;
  readonly color: string;
  readonly marker?: (x: number, y: number) => string;
}

/** Legend entries laid out left to right from (x, y), wrapping before `maxX`; returns the SVG and the rows used. */
export function legend(
  items: readonly LegendItem[],
  x: number,
  y: number,
  maxX: number,
): { svg: string; rows: number } {
  let at = x;
  let row = 0;
  const parts = ['<g class="legend">'];
  for (const it of items) {
    const width = 24 + it.label.length * 6.5;
    if (at > x && at + width > maxX) [at, row] = [x, row + 1];
    const ty = y + row * 16;
    const marker = it.marker
      ? it.marker(at + 5, ty - 4)
      : `<rect x="${num(at)}" y="${num(ty - 9)}" width="10" height="10" fill="${it.color}"/>`;
    parts.push(
      `<g data-legend="${escapeXml(it.label)}">${marker}<text x="${num(at + 14)}" y="${num(ty)}">${escapeXml(it.label)}</text></g>`,
    );
    at += width;
  }
  parts.push('</g>');
  return { svg: parts.join(''), rows: row + 1 };
}
